package io.perishable.authz.budget;

/**
 * Settles each metered response's reservation: with the usage the provider reported; with
 * nothing when the provider answered an error without usage (providers do not bill those);
 * and with the whole worst case when the usage is unknown (the stream was cut, or a success
 * reported none), since the provider may bill what it generated. A response that holds no
 * reservation (a token without a budget) changes nothing.
 */
public final class BudgetSettler implements UsageListener {
  private final ReservationBook book;

  public BudgetSettler(ReservationBook book) {
    this.book = book;
  }

  @Override
  public void metered(MeteredResponse response) {
    if (response.requestId().isEmpty()) {
      return;
    }
    if (response.complete() && response.usage().isPresent()) {
      book.settle(response.requestId(), response.usage().get().total());
    } else if (response.complete() && (response.status() < 200 || response.status() > 299)) {
      book.settle(response.requestId(), 0);
    } else {
      book.abandon(response.requestId());
    }
  }
}
