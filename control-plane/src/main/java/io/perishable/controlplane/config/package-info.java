/** The control plane's configuration: immutable records that validate themselves. */
package io.perishable.controlplane.config;
