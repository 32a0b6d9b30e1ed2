import { Logger } from '@nestjs/common';
import type { ILogger } from '@whiskeysockets/baileys/lib/Utils/logger';

/**
 * Baileys' logger (pino-shaped ILogger, lib/Utils/logger.d.ts) on Nest's: errors as warnings with the session in
 * the context, everything else at `verbose` (Baileys is chatty at info and below). Never logs message contents
 * above `verbose`.
 */
export function baileysLogger(context: string): ILogger {
  const nest = new Logger(context);
  const text = (obj: unknown, msg?: string) =>
    (msg ?? (typeof obj === 'string' ? obj : '')) +
    (typeof obj === 'object' && obj && 'err' in obj ? ` (${String((obj as { err: unknown }).err)})` : '');
  const logger: ILogger = {
    level: 'warn',
    child: () => logger,
    trace: () => undefined,
    debug: () => undefined,
    info: (obj, msg) => nest.verbose(text(obj, msg)),
    warn: (obj, msg) => nest.verbose(text(obj, msg)),
    error: (obj, msg) => nest.warn(text(obj, msg)),
  };
  return logger;
}
