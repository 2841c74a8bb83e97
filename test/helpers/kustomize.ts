// Renders a kustomization of infra/k8s without network or binaries, for the manifests test: the subset of
// kustomize those files use (resources: files and folders; namespace; images; patches: strategic merge of a
// ConfigMap or Secret's data by name). Any other field is refused, so the subset cannot silently diverge; where
// `kubectl` is installed the test also renders with `kubectl kustomize` and compares.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};

const SUPPORTED = new Set(["apiVersion", "kind", "namespace", "resources", "images", "patches"]);
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"]);

export function readYamlObjects(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** The objects `kubectl kustomize dir` would print (order aside). */
export function renderKustomization(dir: string): K8sObject[] {
  const [k] = readYamlObjects(join(dir, "kustomization.yaml")) as unknown as Record<string, unknown>[];
  if (!k) throw new Error(`${dir}/kustomization.yaml is empty`);
  for (const key of Object.keys(k))
    if (!SUPPORTED.has(key))
      throw new Error(`${dir}/kustomization.yaml: "${key}" is outside the supported subset`);
  const objects: K8sObject[] = [];
  for (const r of (k["resources"] as string[] | undefined) ?? []) {
    const path = join(dir, r);
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path) : readYamlObjects(path)));
  }
  for (const p of (k["patches"] as { path: string }[] | undefined) ?? []) {
    for (const patch of readYamlObjects(join(dir, p.path))) {
      if (patch.kind !== "ConfigMap" && patch.kind !== "Secret")
        throw new Error(`${p.path}: only ConfigMap/Secret patches are in the supported subset`);
      const target = objects.find((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (!target) throw new Error(`${p.path}: no ${patch.kind} ${patch.metadata.name} to patch`);
      for (const field of ["data", "stringData"])
        if (patch[field]) target[field] = { ...(target[field] as object), ...(patch[field] as object) };
    }
  }
  const namespace = k["namespace"] as string | undefined;
  if (namespace) for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = namespace;
  const images = (k["images"] as { name: string; newName?: string; newTag?: string }[] | undefined) ?? [];
  for (const o of objects) for (const c of containersOf(o)) c.image = retag(c.image, images);
  return objects;
}

/** Every container and init container of a workload's pod template. */
export function containersOf(o: K8sObject): { name: string; image: string; [k: string]: unknown }[] {
  const spec = o["spec"] as Record<string, unknown> | undefined;
  const pod = (spec?.["template"] as { spec?: Record<string, unknown> } | undefined)?.spec;
  if (!pod) return [];
  return [...((pod["initContainers"] as []) ?? []), ...((pod["containers"] as []) ?? [])];
}

function retag(image: string, images: { name: string; newName?: string; newTag?: string }[]): string {
  const m = /^([^:@]+(?::\d+\/[^:@]+)?)(?::([^@]+))?$/.exec(image);
  if (!m) return image;
  const rule = images.find((i) => i.name === m[1]);
  if (!rule) return image;
  const tag = rule.newTag ?? m[2];
  return `${rule.newName ?? m[1]}${tag ? `:${tag}` : ""}`;
}
