// Stands in for node-gyp when prebuildify calls it ("rebuild --target=… --release"): builds with
// cmake-js (incrementally: the sources are the same) into build/Release, where prebuildify looks.
import { buildNative } from './build-native.mjs';

const args = process.argv.slice(2);
try {
  buildNative({ debug: args.includes('--debug') });
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
