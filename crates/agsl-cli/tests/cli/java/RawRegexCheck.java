// Matches lines against a raw table's Regex SerDe pattern with java.util.regex, as Athena's
// Hive RegexSerDe does: the whole line must match (Matcher.matches), on a thread with a 1 MB
// stack (the JVM's default for worker threads). Run as a single-file program:
//
//   java RawRegexCheck.java <pattern file> <lines file>
//
// Prints one line per input line: `M` and the captured groups (TAB-separated, `\N` for a group
// that did not participate, `\`, TAB and newline escaped as `\\`, `\t`, `\n`), `N` when the
// line does not match, or `S` when matching overflowed the stack.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class RawRegexCheck {
    public static void main(String[] args) throws Exception {
        String pattern = Files.readString(Path.of(args[0]), StandardCharsets.UTF_8);
        List<String> lines = Files.readAllLines(Path.of(args[1]), StandardCharsets.UTF_8);
        Pattern compiled = Pattern.compile(pattern);
        StringBuilder out = new StringBuilder();
        Thread worker = new Thread(null, () -> {
            for (String line : lines) {
                try {
                    Matcher m = compiled.matcher(line);
                    if (!m.matches()) {
                        out.append('N');
                    } else {
                        out.append('M');
                        for (int g = 1; g <= m.groupCount(); g++) {
                            out.append('\t');
                            String value = m.group(g);
                            out.append(value == null ? "\\N" : escape(value));
                        }
                    }
                } catch (StackOverflowError e) {
                    out.append('S');
                }
                out.append('\n');
            }
        }, "regex-serde", 1L << 20);
        worker.start();
        worker.join();
        System.out.print(out);
    }

    static String escape(String value) {
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n");
    }
}
