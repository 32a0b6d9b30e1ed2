// `node --import ./bench/ts-register.mjs file.ts`: registers bench/ts-hooks.mjs (TypeScript through @swc/core).
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
