import { HttpStatus, Injectable } from '@nestjs/common';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { AppError } from '../common/app-error';
import { toIso } from '../common/sql-text';
import { ProviderRegistry } from '../domain/provider-definition';
import type { SessionDefaultDto } from './session-defaults.dto';
import { type SessionDefaultRow, SessionDefaultsRepository } from './session-defaults.repository';

/**
 * The default owner (seed s4 `userId`) per provider: the owner of that provider's sessions that have none of their
 * own, wherever sessions are read (`userId` with `userIdSource: inherited`, the `?userId=` filters of
 * GET /v1/sessions and seed s4's list). Resolved at read time (SessionsRepository joins it), so a change applies
 * at once to every such session, including those created later by a first webhook.
 */
@Injectable()
export class SessionDefaultsService {
  constructor(
    private readonly repo: SessionDefaultsRepository,
    private readonly providers: ProviderRegistry,
  ) {}

  /** Every provider's default owner, by provider name. */
  async list(): Promise<SessionDefaultDto[]> {
    return (await this.repo.list()).map(toDto);
  }

  /**
   * @throws AppError 400 unknown provider, 404 when it has no default owner.
   */
  async get(provider: string): Promise<SessionDefaultDto> {
    this.checkProvider(provider);
    const row = await this.repo.find(provider);
    if (!row) throw AppError.notFound(`Default owner of ${provider} sessions`);
    return toDto(row);
  }

  /**
   * Sets (or replaces) the provider's default owner.
   * @returns the default and the owner it replaced (null when there was none).
   * @throws AppError 400 unknown provider, 403 for a key limited to sessions (a default spans all of the
   *   provider's sessions).
   */
  async set(provider: string, userId: string, key?: AuthenticatedKey): Promise<{ value: SessionDefaultDto; previous: string | null }> {
    this.checkProvider(provider);
    this.checkKey(key);
    const { row, previous } = await this.repo.upsert(provider, userId);
    return { value: toDto(row), previous };
  }

  /**
   * Removes the provider's default owner: its sessions without an owner of their own then have none.
   * @returns the removed default.
   * @throws AppError 400 unknown provider, 403 for a key limited to sessions, 404 when it had none.
   */
  async clear(provider: string, key?: AuthenticatedKey): Promise<SessionDefaultDto> {
    this.checkProvider(provider);
    this.checkKey(key);
    const row = await this.repo.delete(provider);
    if (!row) throw AppError.notFound(`Default owner of ${provider} sessions`);
    return toDto(row);
  }

  private checkProvider(provider: string): void {
    const names: readonly string[] = this.providers.names();
    if (!names.includes(provider))
      throw AppError.badRequest(`Unknown provider ${provider}`, [{ field: 'provider', errors: [`one of ${names.join(', ')}`] }]);
  }

  private checkKey(key?: AuthenticatedKey): void {
    if (key?.sessionIds)
      throw new AppError(
        HttpStatus.FORBIDDEN,
        'FORBIDDEN',
        "A key limited to sessions cannot set a provider's default owner (it applies to all of the provider's sessions)",
      );
  }
}

function toDto(r: SessionDefaultRow): SessionDefaultDto {
  return {
    provider: r.provider,
    userId: r.user_id,
    sessions: r.sessions,
    createdAt: toIso(r.created_at)!,
    updatedAt: toIso(r.updated_at)!,
  };
}
