package dev.cairn.sdk;

import java.util.regex.Pattern;

/**
 * Client-side copies of the server's write checks (apps/api/src/limits.ts): queued metrics are
 * sent later by a background thread, so what can be checked is checked on the caller's thread.
 */
final class Validation {
  private Validation() {}

  static final int KEY_MAX = 250;
  private static final Pattern KEY = Pattern.compile("^[\\w\\-. /:]+$");

  static void key(String kind, String key) {
    if (key == null || key.isEmpty()) {
      throw CairnException.invalid(kind + " key must not be empty");
    }
    if (key.length() > KEY_MAX) {
      throw CairnException.invalid(
          kind + " key \"" + key.substring(0, 40) + "…\" is longer than " + KEY_MAX + " characters");
    }
    boolean climbs = false;
    for (String seg : key.split("/", -1)) {
      if (seg.equals("..")) {
        climbs = true;
      }
    }
    if (!KEY.matcher(key).matches() || climbs || key.startsWith("/")) {
      throw CairnException.invalid(
          "Invalid "
              + kind
              + " key \""
              + key
              + "\": use letters, digits, \"_\", \"-\", \".\", \" \", \":\" and \"/\" (no \"..\","
              + " no leading \"/\")");
    }
  }

  static String notNull(String what, String value) {
    if (value == null) {
      throw CairnException.invalid(what + " must not be null");
    }
    return value;
  }

  /** A relative POSIX artifact path as the server accepts it (checked before any upload). */
  static String artifactPath(String path) {
    String problem = null;
    if (path == null || path.isEmpty()) {
      problem = "is empty";
    } else if (path.startsWith("/")) {
      problem = "must be relative (no leading '/')";
    } else if (path.indexOf('\\') >= 0) {
      problem = "must use '/' as separator (no '\\')";
    } else if (path.chars().anyMatch(c -> c < 32 || c == 127)) {
      problem = "contains a control character";
    } else {
      for (String seg : path.split("/", -1)) {
        if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
          problem = "has an empty, '.' or '..' segment";
        }
      }
    }
    if (problem != null) {
      throw CairnException.invalid("Artifact path '" + path + "' " + problem);
    }
    return path;
  }
}
