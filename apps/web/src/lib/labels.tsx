// Names for ids: a version id shown as "tiny@3", cached for the page's life (versions never change).
import { useEffect, useState } from "react";
import { api, ok } from "./api.js";
import type { Model, Version } from "./types.js";

const versions = new Map<string, Promise<Version | null>>();
const models = new Map<string, Promise<Model | null>>();

export function versionOf(id: string): Promise<Version | null> {
  let p = versions.get(id);
  if (!p) {
    p = ok(api.GET("/v1/versions/{id}", { params: { path: { id } } })).catch(() => null);
    versions.set(id, p);
  }
  return p;
}

export function modelOf(id: string): Promise<Model | null> {
  let p = models.get(id);
  if (!p) {
    p = ok(api.GET("/v1/models/{id}", { params: { path: { id } } })).catch(() => null);
    models.set(id, p);
  }
  return p;
}

export async function versionLabel(id: string): Promise<string> {
  const v = await versionOf(id);
  if (!v) return id.slice(-8);
  const m = await modelOf(v.modelId);
  return `${m?.name ?? v.modelId.slice(-8)}@${v.number}`;
}

export function VersionName({ id }: { id: string | null | undefined }) {
  const [label, setLabel] = useState<string>();
  useEffect(() => {
    if (id) versionLabel(id).then(setLabel);
  }, [id]);
  if (!id) return <>–</>;
  return <>{label ?? id.slice(-8)}</>;
}
