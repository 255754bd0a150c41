// The ES module entry (isdprtc.esm.js): `import ISDPRTC from '.../isdprtc.esm.js'`
// or named imports.
import * as ISDPRTC from './index.js';

export * from './index.js';
export default ISDPRTC;
