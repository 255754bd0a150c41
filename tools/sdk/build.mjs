// build.mjs — builds the Web SDK from web/sdk/src with esbuild (`make sdk`):
//   isdprtc.js      minified, <script> global ISDPRTC (and CommonJS/AMD), + isdprtc.js.map
//   isdprtc.dev.js  the same, readable
//   isdprtc.esm.js  minified ES module (default export and named exports), + isdprtc.esm.js.map
// Usage: node build.mjs [--out DIR]   (default: web/sdk; tests build into a
// scratch directory and compare with the committed files).
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sdk = path.resolve(here, '../../web/sdk');
const i = process.argv.indexOf('--out');
const out = i > 0 ? path.resolve(process.argv[i + 1]) : sdk;
const version = /VERSION = '([^']+)'/.exec(readFileSync(path.join(sdk, 'src/version.js'), 'utf8'))[1];

const banner = `/*! ISDPRTC ${version} — the irtc Web SDK (docs/SDK.md). Built from web/sdk/src by tools/sdk/build.mjs with esbuild. */`;
// A bundler or Node that loads the <script> build as CommonJS gets the same object.
const footer = 'if(typeof module==="object"&&module.exports){module.exports=ISDPRTC;}' +
  'else if(typeof define==="function"&&define.amd){define([],function(){return ISDPRTC;});}';
const common = {
  entryPoints: [path.join(sdk, 'src/esm.js')],
  bundle: true,
  target: ['chrome73'],
  charset: 'utf8',
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: sdk,
};

await build({ ...common, format: 'iife', globalName: 'ISDPRTC', minify: true, sourcemap: true,
  banner: { js: banner }, footer: { js: footer }, outfile: path.join(out, 'isdprtc.js') });
await build({ ...common, format: 'iife', globalName: 'ISDPRTC', minify: false,
  banner: { js: banner }, footer: { js: footer }, outfile: path.join(out, 'isdprtc.dev.js') });
await build({ ...common, format: 'esm', minify: true, sourcemap: true,
  banner: { js: banner }, outfile: path.join(out, 'isdprtc.esm.js') });
// Source paths relative to web/sdk (where the maps are served), wherever the build went.
for (const m of ['isdprtc.js.map', 'isdprtc.esm.js.map']) {
  const file = path.join(out, m);
  const map = JSON.parse(readFileSync(file, 'utf8'));
  map.sources = map.sources.map(s => path.relative(sdk, path.resolve(out, s)).split(path.sep).join('/'));
  writeFileSync(file, JSON.stringify(map));
}
console.log(`built ISDPRTC ${version} into ${path.relative(process.cwd(), out) || '.'}`);
