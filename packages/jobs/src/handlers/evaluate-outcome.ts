// What one evaluate task hands back to the evaluate handler: the job's outputs, and its part of the report.
import type { HandlerResult } from "@shortened/contracts";
import type { PplSection, SamplesSection, ZeroShotSection } from "../report.js";

export interface TaskOutcome<S extends PplSection | ZeroShotSection | SamplesSection>
  extends Omit<HandlerResult, "version"> {
  section: S;
}
