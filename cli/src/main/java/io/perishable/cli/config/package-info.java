/**
 * The configuration file: one YAML file whose {@code control_plane} and {@code authz} sections
 * configure each service and whose {@code scopes} and {@code upstreams} catalogs both share.
 * Every mistake is reported with the field's path and what is wrong with it.
 */
package io.perishable.cli.config;
