import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { Repository } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { ApiKeyEntity, Scope } from './api-key.entity';

/** The caller a request was authenticated as. */
export interface AuthenticatedKey {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  /** Sessions the key may see; null = all. */
  sessionIds: string[] | null;
}

/** SHA-256 hex of an API key secret: what is stored and looked up. */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

const LAST_USED_EVERY_MS = 60_000;

/** API keys: bootstrap admin key, lookup by secret. Secrets are never stored, only their SHA-256. */
@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger('ApiKeys');
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    private readonly config: AppConfig,
  ) {}

  /**
   * With `ADMIN_API_KEY` set, makes sure that key exists as an admin key. Otherwise, when no key exists at all,
   * creates one admin key and prints its secret once.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.ADMIN_API_KEY) {
      await this.keys
        .createQueryBuilder()
        .insert()
        .values({
          name: 'bootstrap admin (ADMIN_API_KEY)',
          prefix: this.config.ADMIN_API_KEY.slice(0, 8),
          keyHash: hashApiKey(this.config.ADMIN_API_KEY),
          scopes: ['admin', 'send', 'read'],
        })
        .orIgnore()
        .execute();
      return;
    }
    if ((await this.keys.count()) > 0) return;
    const { secret } = await this.create('bootstrap admin', ['admin', 'send', 'read']);
    // Printed once, on purpose: it is the only copy.
    this.logger.warn(`No API key existed; created an admin key. Store it now, it is not shown again:\n\n    ${secret}\n`);
  }

  /**
   * Creates a key.
   * @returns the stored row and the secret (`wah_` + 43 base64url characters, 256 bits), shown only here.
   */
  async create(
    name: string,
    scopes: Scope[],
    sessionIds: string[] | null = null,
    expiresAt: Date | null = null,
  ): Promise<{ key: ApiKeyEntity; secret: string }> {
    const secret = `wah_${randomBytes(32).toString('base64url')}`;
    const key = await this.keys.save(
      this.keys.create({ name, prefix: secret.slice(0, 12), keyHash: hashApiKey(secret), scopes, sessionIds, expiresAt }),
    );
    return { key, secret };
  }

  /** Every key, newest first (secrets are not stored, so never listed). */
  list(): Promise<ApiKeyEntity[]> {
    return this.keys.find({ order: { createdAt: 'DESC' } });
  }

  /**
   * Revokes a key at once (the next request with it gets 401).
   * @returns the key, or null when there is none with that id.
   */
  async revoke(id: string): Promise<ApiKeyEntity | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const key = await this.keys.findOne({ where: { id } });
    if (!key) return null;
    if (!key.revokedAt) {
      key.revokedAt = new Date();
      await this.keys.save(key);
    }
    return key;
  }

  /**
   * Looks a secret up.
   * @returns the key when it exists, is not revoked and has not expired; null otherwise.
   */
  async authenticate(secret: string): Promise<AuthenticatedKey | null> {
    const key = await this.keys.findOne({ where: { keyHash: hashApiKey(secret) } });
    const now = Date.now();
    if (!key || key.revokedAt || (key.expiresAt && key.expiresAt.getTime() <= now)) return null;
    // last_used_at is advisory: written at most once a minute per key so reads do not all become writes.
    if (now - (this.lastUsedWritten.get(key.id) ?? 0) > LAST_USED_EVERY_MS) {
      this.lastUsedWritten.set(key.id, now);
      void this.keys.update(key.id, { lastUsedAt: new Date(now) }).catch(() => undefined);
    }
    return { id: key.id, name: key.name, prefix: key.prefix, scopes: key.scopes, sessionIds: key.sessionIds };
  }
}
