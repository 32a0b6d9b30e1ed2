import type { Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { AppError } from '../common/app-error';

/**
 * Checks a session's new sending credentials against its provider's credentials class (whitelist, no unknown
 * fields), as the global ValidationPipe checks request DTOs.
 * @throws AppError 400 `VALIDATION_FAILED` naming each bad field (`credentials.<field>`), or when the provider
 *   takes no credentials.
 */
export async function validateCredentials(cls: Type<object> | undefined, credentials: Record<string, unknown>): Promise<void> {
  if (!cls)
    throw AppError.badRequest("This session's provider takes no sending credentials", [
      { field: 'credentials', errors: ['not supported by the provider'] },
    ]);
  const errors = await validate(plainToInstance(cls, credentials), { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length === 0) return;
  const details = errors.map((e) => ({
    field: `credentials.${e.property}`,
    errors: Object.values(e.constraints ?? { invalid: 'invalid' }),
  }));
  throw AppError.badRequest(details.map((d) => d.errors.join('; ')).join('; '), details);
}
