/* The single registration list of unit tests, split by area so that each area's tests are
 * added in its own file: test-list-<area>.h holds lines `TEST_ENTRY(name)`, one per test,
 * each name defined by TEST_IMPL(name) in tests/unit/test-<feature>.c. */
#include "test-list-core.h"
#include "test-list-store.h"
#include "test-list-server.h"
#include "test-list-registry.h"
#include "test-list-grpc.h"
#include "test-list-cli.h"
#include "test-list-dest.h"
#include "test-list-outputs.h"
#include "test-list-probe.h"
#include "test-list-inputs-stream.h"
#include "test-list-inputs-http.h"
#include "test-list-client.h"
#include "test-list-auth.h"
#include "test-list-lifecycle.h"
#include "test-list-tls.h"
#include "test-list-sockets.h"
