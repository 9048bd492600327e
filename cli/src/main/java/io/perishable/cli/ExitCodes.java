package io.perishable.cli;

/** Exit codes shared by every command, so scripts can tell usage from server errors. */
public final class ExitCodes {
  public static final int OK = 0;
  /** The server refused the call or could not be reached. */
  public static final int SERVER_ERROR = 1;
  /** The command line itself is wrong (picocli's own code for usage errors). */
  public static final int USAGE = 2;
  /** A configuration file or value is wrong. */
  public static final int CONFIG = 3;
  /**
   * Stored data does not verify: the control plane's audit log on start, or the log or export
   * {@code perishable audit verify} checked. The same code as {@link #CONFIG}: in both cases an
   * operator must act before running the command again helps.
   */
  public static final int DAMAGED_DATA = 3;

  private ExitCodes() {}
}
