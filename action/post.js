'use strict';
// The action's post step (post-if: always()): run `buildrole down`.
require('./lib.js').post().then((code) => { process.exitCode = code; });
