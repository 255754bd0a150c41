// The SDK's version (ISDPRTC.VERSION): the irtc release it ships with
// (configure.ac AC_INIT; tests/sdk/test_sdk_bundle.js checks they agree).
export const VERSION = '0.1.0';
