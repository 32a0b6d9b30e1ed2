import type { OpenAPIObject } from '@nestjs/swagger';

type PluginProperty = { type?: unknown; nullable?: boolean };
type PluginMetadata = { '@nestjs/swagger'?: { models?: unknown[][] } };
type SchemaProperty = Record<string, unknown>;
type Schema = { properties?: Record<string, SchemaProperty> };

const PRIMITIVES = new Map<unknown, SchemaProperty>([
  [String, { type: 'string' }],
  [Number, { type: 'number' }],
  [Boolean, { type: 'boolean' }],
  [Date, { type: 'string', format: 'date-time' }],
]);

/**
 * Gives every DTO property the type the Swagger plugin read from its TypeScript declaration where an explicit
 * `@ApiProperty({ nullable: true })` made it a bare `object` (TypeScript emits `Object` as the design type of
 * `string | null`): primitives get their type, DTO classes a `$ref` (nullable through `allOf`), and properties
 * really declared as free-form objects `additionalProperties: true`. Generated clients then type `text` as
 * `string | null`, not `Record<string, never> | null`. Inherited properties are resolved through the class chain.
 * @returns the number of properties fixed.
 */
export async function fixPluginTypes(document: OpenAPIObject, metadata: PluginMetadata): Promise<number> {
  const schemas = (document.components?.schemas ?? {}) as Record<string, Schema>;
  const byClass = new Map<unknown, Record<string, PluginProperty>>();
  const named = new Map<string, unknown>();
  for (const [modulePromise, classes] of metadata['@nestjs/swagger']?.models ?? []) {
    const mod = (await modulePromise) as Record<string, unknown>;
    for (const [className, props] of Object.entries((classes ?? {}) as Record<string, Record<string, PluginProperty>>)) {
      if (mod[className]) {
        byClass.set(mod[className], props);
        named.set(className, mod[className]);
      }
    }
  }
  let fixed = 0;
  for (const [className, cls] of named) {
    const schema = schemas[className];
    if (!schema?.properties) continue;
    for (const [name, current] of Object.entries(schema.properties)) {
      if (current.type !== 'object' || current.properties || current.additionalProperties || current.$ref) continue;
      const meta = pluginProperty(byClass, cls, name);
      if (!meta || typeof meta.type !== 'function') continue;
      let type: unknown;
      try {
        type = (meta.type as () => unknown)();
      } catch {
        continue;
      }
      const isArray = Array.isArray(type);
      const item = isArray ? (type as unknown[])[0] : type;
      const { type: _object, ...rest } = current;
      let replacement: SchemaProperty | undefined;
      const primitive = PRIMITIVES.get(item);
      if (primitive) replacement = primitive;
      else if (item === Object) replacement = { type: 'object', additionalProperties: true };
      else if (typeof item === 'function' && item.name && schemas[item.name])
        replacement =
          isArray || !rest.nullable
            ? { $ref: `#/components/schemas/${item.name}` }
            : { type: 'object', allOf: [{ $ref: `#/components/schemas/${item.name}` }] };
      if (!replacement) continue;
      schema.properties[name] = isArray ? { ...rest, type: 'array', items: replacement } : { ...rest, ...replacement };
      fixed++;
    }
  }
  return fixed;
}

/** The plugin's metadata of `name` on `cls` or the nearest ancestor declaring it. */
function pluginProperty(byClass: Map<unknown, Record<string, PluginProperty>>, cls: unknown, name: string): PluginProperty | undefined {
  for (let c = cls; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const props = byClass.get(c);
    if (props?.[name]) return props[name];
  }
  return undefined;
}
