import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import request from 'supertest';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TestApp } from './helpers/test-app';

const ROOT = resolve(__dirname, '..');
const REDOCLY = join(ROOT, 'node_modules/@redocly/cli/bin/cli.js');
const REDOCLY_CONFIG = join(ROOT, 'test/fixtures/openapi/redocly.yaml');

/**
 * A program that uses the generated client types the way an API client would. `Exact` fails to compile unless
 * both types are the same: `text` must be `string | null` (not `Record<string, never> | null`), enums unions,
 * a send body assignable, an invalid one refused.
 */
const PROGRAM = `
import type { components, operations, paths } from './api';

type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;

type MessagePage = Json<paths['/v1/messages']['get']['responses']['200']>;
type Message = paths['/v1/messages']['get']['responses']['200']['content']['application/json']['data'][number];
export const text: Exact<Message['text'], string | null> = true;
export const direction: Exact<Message['direction'], 'in' | 'out'> = true;
export const provider: Exact<Message['provider'], 'baileys' | 'meta' | 'wablas' | 'wwebjs'> = true;
export const total: Exact<MessagePage['total'], number> = true;
export const contact: Exact<Message['contact'], components['schemas']['MessageContactDto'] | null> = true;
export const mediaSize: Exact<NonNullable<Message['media']>['size'], number | null> = true;
export const messageType: Exact<Message['type'], 'text' | 'image' | 'video' | 'audio' | 'voice' | 'document' | 'sticker' | 'location' | 'contacts' | 'interactive' | 'button' | 'reaction' | 'order' | 'system' | 'unsupported' | 'unknown'> = true;

type ListQuery = NonNullable<operations['listMessages']['parameters']['query']>;
export const limit: Exact<ListQuery['limit'], number | undefined> = true;
export const statusFilter: Exact<ListQuery['status'], 'queued' | 'pending' | 'sent' | 'received' | 'failed' | 'delivered' | 'read' | 'played' | undefined> = true;

type SendBody = paths['/v1/messages']['post']['requestBody']['content']['application/json'];
export const send: SendBody = { to: '+1 650-253-0000', type: 'text', text: { body: 'Hello' } };
// @ts-expect-error: 'fax' is not a message type
export const badSend: SendBody = { to: '+1 650-253-0000', type: 'fax' };

type ApiError = Json<operations['getMessage']['responses']['404']>;
export const errorCode: Exact<ApiError['error']['code'], string> = true;
type Unauthorized = Json<operations['listMessages']['responses']['401']>;
export const requestId: Exact<Unauthorized['requestId'], string> = true;

type NewKey = paths['/v1/api-keys']['post']['requestBody']['content']['application/json'];
// @ts-expect-error: scopes are an enum
export const badScope: NewKey = { name: 'x', scopes: ['superuser'] };

type Session = Json<operations['getSession']['responses']['200']>;
export const sessionStatus: Exact<Session['status'], 'connecting' | 'loading' | 'qr' | 'authenticated' | 'connected' | 'disconnected' | 'logged_out' | 'auth_failure' | 'error' | 'unknown'> = true;
`;

/** Type-checks `files` (name → source) in a fresh directory with the TypeScript compiler API, strict. */
function typeCheck(files: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'wa-hub-openapi-client-'));
  try {
    for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
    const program = ts.createProgram(
      Object.keys(files).map((f) => join(dir, f)),
      {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        noUnusedLocals: false,
        skipLibCheck: false,
        types: [],
      },
    );
    return ts
      .getPreEmitDiagnostics(program)
      .map(
        (d) =>
          `${d.file ? `${d.file.fileName.slice(dir.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('OpenAPI document: generated clients and lint (e2e)', () => {
  let t: TestApp;
  let doc: Record<string, unknown>;
  let api: string;
  beforeAll(async () => {
    t = await createTestApp();
    doc = (await request(t.app.getHttpServer()).get('/docs-json').expect(200)).body as Record<string, unknown>;
    api = astToString(await openapiTS(doc as unknown as Parameters<typeof openapiTS>[0]));
  }, 120_000);
  afterAll(async () => t?.close());

  it('openapi-typescript generates a client whose types a small program uses with 0 diagnostics', () => {
    expect(api).toContain('listMessages');
    expect(typeCheck({ 'api.ts': api, 'program.ts': PROGRAM })).toEqual([]);
  }, 120_000);

  it('the check is live: a program misusing the types gets diagnostics', () => {
    const wrong = `import type { paths } from './api';
type Message = paths['/v1/messages']['get']['responses']['200']['content']['application/json']['data'][number];
export const text: Message['text'] = 42;
export const send: paths['/v1/messages']['post']['requestBody']['content']['application/json'] = { type: 'text' };
`;
    const diagnostics = typeCheck({ 'api.ts': api, 'program.ts': wrong });
    expect(diagnostics).toHaveLength(2);
    expect(diagnostics.join('\n')).toMatch(/number.*not assignable.*string/);
  }, 120_000);

  it('Redocly lint (recommended rules, test/fixtures/openapi/redocly.yaml) reports 0 errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-hub-openapi-lint-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc));
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [REDOCLY, 'lint', file, '--config', REDOCLY_CONFIG, '--format', 'json'],
        {
          cwd: ROOT,
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        },
      ).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
      const report = JSON.parse(stdout) as {
        totals: { errors: number; warnings: number };
        problems: { ruleId: string; severity: string; message: string; location: { pointer?: string }[] }[];
      };
      const errors = report.problems
        .filter((p) => p.severity === 'error')
        .map((p) => `${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`);
      expect(errors).toEqual([]);
      expect(report.totals.errors).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
