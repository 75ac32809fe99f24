import { z } from 'zod';

/**
 * The Standard Schema v1 interface (https://standardschema.dev): what zod 3.25+/4, valibot,
 * arktype and others expose as `~standard`. Copied rather than imported, as the spec asks of
 * libraries that accept schemas, so apps need no extra package.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The spec's properties: `version` 1, the library's name, `validate`, and optionally the JSON Schema converter. */
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
    /** Standard JSON Schema v1 (https://standardschema.dev/json-schema): present on zod 4.2+ and others. */
    readonly jsonSchema?: {
      readonly input: (options: { readonly target: string }) => Record<string, unknown>;
      readonly output: (options: { readonly target: string }) => Record<string, unknown>;
    };
  };
}

/** A Standard Schema validation result: `value` on success, else `issues`. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined }> };

/** A plain JSON Schema object (draft 2020-12), e.g. `{ type: 'object', properties: { … } }`. */
export type JsonSchemaObject = Record<string, unknown>;

export const isStandardSchema = (value: unknown): value is StandardSchemaV1 =>
  (typeof value === 'object' || typeof value === 'function') &&
  value !== null &&
  typeof (value as { '~standard'?: { validate?: unknown } })['~standard']?.validate === 'function';

/**
 * A plain JSON Schema as a Standard Schema: zod's `fromJSONSchema` validates it, so a tool needs
 * no validator package. Throws a TypeError naming the tool for a schema it cannot read.
 */
export function fromJsonSchema(name: string, schema: JsonSchemaObject): StandardSchemaV1 {
  try {
    return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (error) {
    throw new TypeError(`tool ${name}: parameters is not a JSON Schema zod can read (${error instanceof Error ? error.message : String(error)})`);
  }
}

/**
 * The JSON Schema a model is offered for a tool's parameters: `jsonSchema` when the app gave
 * one, else the schema's own Standard JSON Schema, else zod 4's `toJSONSchema`. The output side:
 * it names every field the tool gets and, for zod objects, `additionalProperties: false`, as
 * strict function calling asks. A TypeError unless it is an object schema (model APIs take objects).
 */
export function parametersJsonSchema(name: string, parameters: StandardSchemaV1, given: JsonSchemaObject | undefined): JsonSchemaObject {
  let schema: JsonSchemaObject;
  try {
    const converter = parameters['~standard'].jsonSchema;
    if (given) schema = given;
    else if (converter) schema = converter.output({ target: 'draft-2020-12' });
    else if (parameters['~standard'].vendor === 'zod' && '_zod' in parameters) schema = z.toJSONSchema(parameters as unknown as z.ZodType) as JsonSchemaObject;
    else throw new Error(`a ${parameters['~standard'].vendor} schema offers no JSON Schema: pass jsonSchema alongside parameters`);
  } catch (error) {
    throw new TypeError(`tool ${name}: no JSON Schema for its parameters (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof schema !== 'object' || schema === null || schema.type !== 'object') {
    throw new TypeError(`tool ${name}: parameters must describe an object (type: 'object'): model APIs take an object of arguments`);
  }
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

/** Validated arguments, or the first issue as `message at path`. */
export type Checked = { ok: true; value: unknown } | { ok: false; why: string };

const keyOf = (segment: PropertyKey | { readonly key: PropertyKey }): string =>
  String(typeof segment === 'object' && segment !== null ? segment.key : segment);

/** Runs a Standard Schema on untrusted arguments; a validator that throws is an invalid result, not a crash. */
export async function checkArguments(parameters: StandardSchemaV1, value: unknown): Promise<Checked> {
  let result: StandardResult<unknown>;
  try {
    result = await parameters['~standard'].validate(value);
  } catch {
    return { ok: false, why: 'the schema could not check them' };
  }
  if (!result.issues) return { ok: true, value: result.value };
  const issue = result.issues[0];
  if (!issue) return { ok: false, why: 'not valid' };
  const path = issue.path?.map(keyOf) ?? [];
  return { ok: false, why: `${issue.message}${path.length ? ` at ${path.join('.')}` : ''}` };
}
