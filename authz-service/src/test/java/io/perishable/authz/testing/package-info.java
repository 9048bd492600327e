/** Fixtures shared by authz-service tests and the integration tests (via the test-jar). */
package io.perishable.authz.testing;
