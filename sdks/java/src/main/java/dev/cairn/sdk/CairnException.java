package dev.cairn.sdk;

import java.util.Collections;
import java.util.Map;

/**
 * An error from Cairn or from the SDK's own checks, with the server's typed error code.
 *
 * <p>{@link #getCode()} is the code the server puts in a GraphQL error's {@code extensions.code}
 * (or in the {@code error.code} of an HTTP route's JSON body): {@code INVALID_ARGUMENT}, {@code
 * NOT_FOUND}, {@code ALREADY_EXISTS}, {@code FAILED_PRECONDITION}, {@code PERMISSION_DENIED},
 * {@code UNAUTHENTICATED}, {@code RESOURCE_EXHAUSTED}, {@code UNAVAILABLE}, ... Checks the SDK
 * makes before sending (an empty key, a bad artifact path) use the code the server would use.
 * {@code UNAVAILABLE} also means that retries gave up: the server did not answer within the
 * client's retry window.
 */
public class CairnException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String code;
  private final int httpStatus;
  private final transient Map<String, Object> details;

  public CairnException(String code, String message) {
    this(code, message, 0, Map.of(), null);
  }

  public CairnException(
      String code, String message, int httpStatus, Map<String, Object> details, Throwable cause) {
    super(message, cause);
    this.code = code == null ? "INTERNAL" : code;
    this.httpStatus = httpStatus;
    this.details = details == null ? Map.of() : Collections.unmodifiableMap(details);
  }

  /** The server's typed error code, e.g. {@code NOT_FOUND}. */
  public String getCode() {
    return code;
  }

  /** The HTTP status of the answer that carried the error (0 when none). */
  public int getHttpStatus() {
    return httpStatus;
  }

  /** The other fields of the error's {@code extensions} (e.g. {@code key}, {@code field}). */
  public Map<String, Object> getDetails() {
    return details;
  }

  @Override
  public String toString() {
    return "CairnException[" + code + "]: " + getMessage();
  }

  static CairnException invalid(String message) {
    return new CairnException("INVALID_ARGUMENT", message);
  }
}
