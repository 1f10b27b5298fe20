import test from 'ava';
import { createNetlinkBackend } from '../../../lib/backends/netlink/index.js';

test('createNetlinkBackend: a native part that cannot load gives a clear error (the caller falls back to iproute2)', async (t) => {
  await t.throwsAsync(
    createNetlinkBackend({
      loadNative: () => {
        throw new Error('cannot load the koffi FFI package (Cannot find module koffi)');
      },
    }),
    { message: 'netlink backend unavailable: cannot load the koffi FFI package (Cannot find module koffi)' },
  );
});
