import { Module } from '@nestjs/common';
import { ConsoleAssets, defaultConsoleDir } from './console-assets';
import { ConsoleController } from './console.controller';

/**
 * The web console at `/` (issue 12): serves the static build of `console/` (Preact + Vite, built by `npm run build`
 * into `dist/console`). It calls the same `/v1` API and Socket.IO gateway as any client; nothing here reads data.
 */
@Module({
  controllers: [ConsoleController],
  providers: [{ provide: ConsoleAssets, useFactory: () => new ConsoleAssets(defaultConsoleDir()) }],
})
export class ConsoleModule {}
