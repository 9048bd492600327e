/**
 * Token budgets on one replica: the worst case a request may cost ({@link
 * io.perishable.authz.budget.WorstCase}), reservations against the budget this replica leased
 * from the control plane ({@link io.perishable.authz.budget.ReservationBook}), and the real usage
 * read from the provider's response ({@link io.perishable.authz.budget.ResponseUsageReader}).
 *
 * <p>Pure but for {@link io.perishable.authz.budget.BudgetLeaseClient}, the {@link
 * io.perishable.authz.budget.LeaseSource} that asks the control plane's {@code BudgetService}
 * over gRPC: no Envoy protos, no wall clock (a monotonic ticker is injected). The control
 * plane's side is {@code io.perishable.controlplane.budget.BudgetLedger}.
 */
package io.perishable.authz.budget;
