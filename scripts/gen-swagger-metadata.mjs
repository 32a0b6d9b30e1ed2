// Generates src/metadata.ts: the @nestjs/swagger CLI plugin's view of our DTOs and controllers.
// SWC (Vitest) cannot run the TypeScript plugin, so without this file the OpenAPI schemas are empty
// (see ../shared/STACK.md, pitfall 2). main.ts and the tests load it with SwaggerModule.loadPluginMetadata.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { PluginMetadataGenerator } = require('@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator.js');
const { ReadonlyVisitor } = require('@nestjs/swagger/plugin');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The generator type-checks the project, which imports src/metadata.ts; a stale one could fail that check,
// so start from an empty one every time.
writeFileSync(join(root, 'src', 'metadata.ts'), 'export default async () => ({});\n');
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
  tsconfigPath: 'tsconfig.build.json',
  printDiagnostics: false,
});
