// Generates src/metadata.ts: the @nestjs/swagger CLI plugin's view of our DTOs and controllers.
// SWC (Vitest) cannot run the TypeScript plugin, so without this file the OpenAPI schemas are empty
// (see ../shared/STACK.md, pitfall 2). main.ts and the tests load it with SwaggerModule.loadPluginMetadata.
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { PluginMetadataGenerator } = require('@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator.js');
const { ReadonlyVisitor } = require('@nestjs/swagger/plugin');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'src', 'metadata.ts');
const next = join(root, 'src', 'metadata.next.ts');
const generate = () =>
  new PluginMetadataGenerator().generate({
    visitors: [
      new ReadonlyVisitor({
        introspectComments: true,
        pathToSource: join(root, 'src'),
        classValidatorShim: true,
        dtoFileNameSuffix: ['.dto.ts'],
      }),
    ],
    outputDir: join(root, 'src'),
    filename: 'metadata.next.ts',
    tsconfigPath: 'tsconfig.build.json',
    printDiagnostics: false,
  });
// Written next to the old file and renamed over it: tests and type checks running meanwhile (other processes in
// the same tree) read either the old metadata or the new, never an empty or half-written file.
rmSync(next, { force: true });
try {
  generate();
} catch (e) {
  // The generator type-checks the project, which imports src/metadata.ts: a stale one (naming a DTO that is gone)
  // fails that check, so try again from an empty one.
  if (!existsSync(target)) throw e;
  writeFileSync(target, 'export default async () => ({});\n');
  rmSync(next, { force: true });
  generate();
}
renameSync(next, target);
