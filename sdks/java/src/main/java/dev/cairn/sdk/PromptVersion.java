package dev.cairn.sdk;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One immutable version of a prompt: a text template ({@link #template()}) or a chat template
 * ({@link #messages()}).
 *
 * @param name the prompt's name
 * @param version the version number
 * @param uri {@code prompts:/<name>/<version>}
 * @param templateType {@code TEXT} or {@code CHAT}
 * @param template the text template (null for a chat template)
 * @param messages the chat template (null for a text template)
 * @param variables the distinct {@code {{name}}} placeholders, in order of first appearance
 * @param aliases the aliases pointing at this version
 * @param modelConfig the model configuration as JSON text (null when none)
 * @param commitMessage the commit message (may be null)
 * @param tags the version's tags
 */
public record PromptVersion(
    String name,
    int version,
    String uri,
    String templateType,
    String template,
    List<Message> messages,
    List<String> variables,
    List<String> aliases,
    String modelConfig,
    String commitMessage,
    Map<String, String> tags) {

  /**
   * One chat message.
   *
   * @param role e.g. {@code system}, {@code user}
   * @param content the message text (may hold placeholders)
   */
  public record Message(String role, String content) {}

  // The server's rule: {{ name }} is name; a name is a letter or _ then letters, digits, _ or .
  private static final Pattern PLACEHOLDER =
      Pattern.compile("\\{\\{\\s*([A-Za-z_][A-Za-z0-9_.]*)\\s*\\}\\}");

  /**
   * The text template with every placeholder replaced.
   *
   * @param values a value for each variable
   * @return the filled-in text
   * @throws CairnException INVALID_ARGUMENT when a variable has no value, or for a chat template
   */
  public String format(Map<String, ?> values) {
    if (template == null) {
      throw CairnException.invalid(
          "Prompt " + uri + " is a chat template: use formatMessages(values)");
    }
    return fill(template, values);
  }

  /**
   * The chat template's messages with every placeholder replaced.
   *
   * @param values a value for each variable
   * @return the filled-in messages
   */
  public List<Message> formatMessages(Map<String, ?> values) {
    if (messages == null) {
      return List.of(new Message("user", format(values)));
    }
    List<Message> out = new ArrayList<>(messages.size());
    for (Message m : messages) {
      out.add(new Message(m.role(), fill(m.content(), values)));
    }
    return out;
  }

  private String fill(String text, Map<String, ?> values) {
    Matcher m = PLACEHOLDER.matcher(text);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      String name = m.group(1);
      if (!values.containsKey(name)) {
        throw CairnException.invalid(
            "Prompt " + uri + " needs a value for variable '" + name + "'");
      }
      m.appendReplacement(sb, Matcher.quoteReplacement(String.valueOf(values.get(name))));
    }
    m.appendTail(sb);
    return sb.toString();
  }
}
