// A form generated from a JSON schema (the job specs of the OpenAPI document): one labelled control per
// field, the default shown beside it, optional sections switched on by a checkbox, unions by a picker,
// lists of objects with add/remove, and the API's validation message under the field it is about.
import { useId } from "react";
import {
  branchesOf,
  branchName,
  branchOf,
  branchSeed,
  defaultText,
  fieldKind,
  getAt,
  type JsonSchema,
  type Path,
  pathKey,
  resolve,
  setAt,
} from "../lib/schema.js";

interface Ctx {
  root: Record<string, unknown>;
  value: unknown;
  onChange: (v: unknown) => void;
  errors: Map<string, string>;
  suggestions?: Record<string, string[]>;
}

export function SchemaForm(props: Ctx & { schema: JsonSchema }) {
  return <ObjectFields schema={resolve(props.schema, props.root)} path={[]} ctx={props} />;
}

function ObjectFields({ schema, path, ctx }: { schema: JsonSchema; path: Path; ctx: Ctx }) {
  return (
    <>
      {Object.entries(schema.properties ?? {}).map(([name, s]) => (
        <Field
          key={name}
          name={name}
          schema={resolve(s, ctx.root)}
          path={[...path, name]}
          required={(schema.required ?? []).includes(name)}
          ctx={ctx}
        />
      ))}
    </>
  );
}

function Hint({ id, schema, error }: { id: string; schema: JsonSchema; error?: string }) {
  const d = defaultText(schema);
  return (
    <>
      {(schema.description || d !== undefined) && (
        <span id={`${id}-hint`} className="hint">
          {schema.description}
          {d !== undefined && (
            <>
              {schema.description ? " · " : ""}default <code>{d}</code>
            </>
          )}
        </span>
      )}
      {error && (
        <span id={`${id}-error`} className="field-error" role="alert">
          {error}
        </span>
      )}
    </>
  );
}

function Field({
  name,
  schema,
  path,
  required,
  ctx,
}: {
  name: string;
  schema: JsonSchema;
  path: Path;
  required: boolean;
  ctx: Ctx;
}) {
  const id = useId();
  const kind = fieldKind(schema);
  const value = getAt(ctx.value, path);
  const error = ctx.errors.get(pathKey(path));
  const set = (v: unknown) => ctx.onChange(setAt(ctx.value, path, v));
  const describedBy =
    [schema.description || schema.default !== undefined ? `${id}-hint` : "", error ? `${id}-error` : ""]
      .filter(Boolean)
      .join(" ") || undefined;
  const common = {
    id,
    name: pathKey(path),
    "aria-describedby": describedBy,
    "aria-invalid": error ? true : undefined,
    "aria-required": required || undefined,
  };
  const label = (
    <label htmlFor={id}>
      {name}
      {required && <span aria-hidden="true"> *</span>}
    </label>
  );

  if (kind === "const") return null;

  if (kind === "object") {
    const optional = !required && schema.default === undefined;
    const on = value !== undefined || !optional;
    return (
      <fieldset className="group">
        <legend>
          {optional ? (
            <label>
              <input type="checkbox" checked={on} onChange={(e) => set(e.target.checked ? {} : undefined)} />{" "}
              {name}
            </label>
          ) : (
            name
          )}
        </legend>
        <Hint id={id} schema={schema} error={error} />
        {on && <ObjectFields schema={schema} path={path} ctx={ctx} />}
      </fieldset>
    );
  }

  if (kind === "union") {
    const branches = branchesOf(schema).map((b) => resolve(b, ctx.root));
    const objectBranches = branches.every((b) => fieldKind(b) === "object");
    if (!objectBranches)
      return <JsonField name={name} schema={schema} path={path} ctx={ctx} label={label} id={id} />;
    const i = branchOf(schema, value);
    return (
      <fieldset className="group">
        <legend>{name}</legend>
        <label htmlFor={id}>{name}: kind</label>
        <select
          {...common}
          value={value === undefined ? "" : i}
          onChange={(e) =>
            set(e.target.value === "" ? undefined : branchSeed(branches[Number(e.target.value)]))
          }
        >
          {!required && <option value="">default</option>}
          {branches.map((b, j) => (
            <option key={branchName(b, j)} value={j}>
              {branchName(b, j)}
            </option>
          ))}
        </select>
        <Hint id={id} schema={schema} error={error} />
        {value !== undefined && <ObjectFields schema={branches[i]} path={path} ctx={ctx} />}
      </fieldset>
    );
  }

  if (kind === "object-list") {
    const items = (value as unknown[] | undefined) ?? [];
    const item = resolve(schema.items ?? {}, ctx.root);
    const branches = branchesOf(item).map((b) => resolve(b, ctx.root));
    return (
      <fieldset className="group">
        <legend>{name}</legend>
        <Hint id={id} schema={schema} error={error} />
        {items.map((_, j) => {
          const b = branches.length ? branches[branchOf(item, items[j])] : item;
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: list items have no identity but their place
            <fieldset key={j} className="group item">
              <legend>
                {name} {j + 1}
              </legend>
              {branches.length > 0 && (
                <>
                  <label htmlFor={`${id}-${j}`}>kind</label>
                  <select
                    id={`${id}-${j}`}
                    value={branchOf(item, items[j])}
                    onChange={(e) =>
                      set(items.map((x, k) => (k === j ? branchSeed(branches[Number(e.target.value)]) : x)))
                    }
                  >
                    {branches.map((bb, k) => (
                      <option key={branchName(bb, k)} value={k}>
                        {branchName(bb, k)}
                      </option>
                    ))}
                  </select>
                </>
              )}
              <ObjectFields schema={b} path={[...path, j]} ctx={ctx} />
              <button
                type="button"
                className="secondary"
                onClick={() => set(items.filter((_, k) => k !== j))}
              >
                Remove {name} {j + 1}
              </button>
            </fieldset>
          );
        })}
        <button
          type="button"
          className="secondary"
          onClick={() => set([...items, branches.length ? branchSeed(branches[0]) : {}])}
        >
          Add {name}
        </button>
      </fieldset>
    );
  }

  if (kind === "enum") {
    return (
      <div className="field">
        {label}
        <select
          {...common}
          value={value === undefined ? "" : String(value)}
          onChange={(e) => set(e.target.value || undefined)}
        >
          {(!required || value === undefined) && (
            <option value="">
              {schema.default !== undefined ? `default (${String(schema.default)})` : "not set"}
            </option>
          )}
          {(schema.enum ?? []).map((o) => (
            <option key={String(o)} value={String(o)}>
              {String(o)}
            </option>
          ))}
        </select>
        <Hint id={id} schema={schema} error={error} />
      </div>
    );
  }

  if (kind === "boolean") {
    return (
      <div className="field">
        {label}
        <select
          {...common}
          value={value === undefined ? "" : String(value)}
          onChange={(e) => set(e.target.value === "" ? undefined : e.target.value === "true")}
        >
          <option value="">
            {schema.default !== undefined ? `default (${String(schema.default)})` : "not set"}
          </option>
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
        <Hint id={id} schema={schema} error={error} />
      </div>
    );
  }

  if (kind === "integer" || kind === "number") {
    return (
      <div className="field">
        {label}
        <input
          {...common}
          type="number"
          step={kind === "integer" ? 1 : "any"}
          min={schema.minimum}
          max={schema.maximum !== undefined && schema.maximum < 1e15 ? schema.maximum : undefined}
          placeholder={defaultText(schema)}
          value={value === undefined ? "" : String(value)}
          onChange={(e) => set(e.target.value === "" ? undefined : Number(e.target.value))}
        />
        <Hint id={id} schema={schema} error={error} />
      </div>
    );
  }

  if (kind === "enum-list") {
    const options = schema.items?.enum ?? [];
    const chosen = (value as unknown[] | undefined) ?? (schema.default as unknown[] | undefined) ?? [];
    return (
      <fieldset className="group inline" aria-describedby={describedBy}>
        <legend>{name}</legend>
        {options.map((o) => (
          <label key={String(o)} className="check">
            <input
              type="checkbox"
              checked={chosen.includes(o)}
              onChange={(e) => set(e.target.checked ? [...chosen, o] : chosen.filter((x) => x !== o))}
            />
            {String(o)}
          </label>
        ))}
        <Hint id={id} schema={schema} error={error} />
      </fieldset>
    );
  }

  if (kind === "number-list") {
    return (
      <div className="field">
        {label}
        <input
          {...common}
          type="text"
          inputMode="numeric"
          placeholder={defaultText(schema) ?? "comma-separated, e.g. 3, 5"}
          value={Array.isArray(value) ? value.join(", ") : ""}
          onChange={(e) => {
            const t = e.target.value.trim();
            set(
              t === ""
                ? undefined
                : t
                    .split(/[\s,]+/)
                    .filter(Boolean)
                    .map(Number),
            );
          }}
        />
        <Hint id={id} schema={schema} error={error} />
      </div>
    );
  }

  if (kind === "string") {
    const list = ctx.suggestions?.[name];
    return (
      <div className="field">
        {label}
        <input
          {...common}
          type="text"
          list={list ? `${id}-list` : undefined}
          placeholder={defaultText(schema)}
          value={value === undefined ? "" : String(value)}
          onChange={(e) => set(e.target.value === "" ? undefined : e.target.value)}
        />
        {list && (
          <datalist id={`${id}-list`}>
            {list.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        )}
        <Hint id={id} schema={schema} error={error} />
      </div>
    );
  }

  return <JsonField name={name} schema={schema} path={path} ctx={ctx} label={label} id={id} />;
}

function JsonField({
  schema,
  path,
  ctx,
  label,
  id,
}: {
  name: string;
  schema: JsonSchema;
  path: Path;
  ctx: Ctx;
  label: React.ReactNode;
  id: string;
}) {
  const value = getAt(ctx.value, path);
  const error = ctx.errors.get(pathKey(path));
  return (
    <div className="field">
      {label}
      <textarea
        id={id}
        rows={2}
        placeholder={defaultText(schema) ?? "JSON"}
        defaultValue={value === undefined ? "" : JSON.stringify(value)}
        aria-describedby={`${id}-hint`}
        onBlur={(e) => {
          const t = e.target.value.trim();
          try {
            ctx.onChange(setAt(ctx.value, path, t === "" ? undefined : JSON.parse(t)));
          } catch {
            ctx.onChange(setAt(ctx.value, path, t));
          }
        }}
      />
      <Hint id={id} schema={schema} error={error} />
    </div>
  );
}
