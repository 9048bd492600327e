/** authz-service configuration: immutable records that validate themselves. */
package io.perishable.authz.config;
