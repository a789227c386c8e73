package org.dbfs.walservice.replication;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * How to reach the primary, from what an operator types for {@code --primary}: a libpq
 * keyword/value string ({@code host=127.0.0.1 port=5432 user=postgres}), a libpq URL
 * ({@code postgresql://user:secret@host:5432/postgres}) or a JDBC URL
 * ({@code jdbc:postgresql://host:5432/postgres?user=postgres}).
 *
 * <p>Defaults follow libpq where JDBC can: host localhost, port 5432, database postgres, user
 * {@code $PGUSER} else the OS user; password {@code $PGPASSWORD} if set. Unix-socket hosts are not
 * supported (JDBC speaks TCP).
 */
public record PrimaryConnInfo(String jdbcUrl, Properties properties, String display) {
    private static final Map<String, String> LIBPQ_TO_JDBC = Map.of(
            "sslmode", "sslmode",
            "connect_timeout", "connectTimeout",
            "sslrootcert", "sslrootcert",
            "sslcert", "sslcert",
            "sslkey", "sslkey");

    public static PrimaryConnInfo parse(String text) {
        return parse(text, System.getenv());
    }

    static PrimaryConnInfo parse(String text, Map<String, String> env) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("--primary is empty; give e.g. 'host=127.0.0.1 port=5432 user=postgres'"
                    + " or postgresql://user@host:5432/postgres");
        }
        String t = text.trim();
        Map<String, String> kv = new LinkedHashMap<>();
        if (t.startsWith("jdbc:postgresql:")) {
            Properties p = defaults(env);
            return new PrimaryConnInfo(t, p, withoutPassword(t));
        } else if (t.startsWith("postgresql://") || t.startsWith("postgres://")) {
            parseUrl(t, kv);
        } else if (t.contains("=")) {
            parseKeywordValue(t, kv);
        } else {
            throw new IllegalArgumentException("cannot read --primary " + t + "; give 'host=H port=P user=U [password=X] [dbname=D]',"
                    + " postgresql://user@host:port/db or jdbc:postgresql://host:port/db");
        }
        Properties props = defaults(env);
        String host = kv.remove("host");
        String hostaddr = kv.remove("hostaddr");
        if (hostaddr != null) {
            host = hostaddr;
        }
        if (host == null || host.isEmpty()) {
            host = "localhost";
        }
        if (host.startsWith("/")) {
            throw new IllegalArgumentException("--primary names a Unix socket directory (host=" + host + "); the WAL service"
                    + " connects over TCP: give host=127.0.0.1 (and allow replication connections from it in pg_hba.conf)");
        }
        String port = kv.getOrDefault("port", "5432");
        kv.remove("port");
        String db = kv.getOrDefault("dbname", "postgres");
        kv.remove("dbname");
        String user = kv.remove("user");
        if (user != null) {
            props.setProperty("user", user);
        }
        String password = kv.remove("password");
        if (password != null) {
            props.setProperty("password", password);
        }
        for (var e : kv.entrySet()) {
            String jdbc = LIBPQ_TO_JDBC.get(e.getKey());
            if (jdbc == null) {
                throw new IllegalArgumentException("unsupported --primary setting " + e.getKey() + "; supported are host, hostaddr,"
                        + " port, user, password, dbname, " + String.join(", ", LIBPQ_TO_JDBC.keySet()));
            }
            props.setProperty(jdbc, e.getValue());
        }
        String hostPart = host.contains(":") ? "[" + host + "]" : host;
        String url = "jdbc:postgresql://" + hostPart + ":" + port + "/" + db;
        return new PrimaryConnInfo(url, props, url + " user=" + props.getProperty("user"));
    }

    private static Properties defaults(Map<String, String> env) {
        Properties p = new Properties();
        String user = env.get("PGUSER");
        p.setProperty("user", user != null ? user : System.getProperty("user.name"));
        if (env.get("PGPASSWORD") != null) {
            p.setProperty("password", env.get("PGPASSWORD"));
        }
        return p;
    }

    private static void parseUrl(String t, Map<String, String> kv) {
        URI uri;
        try {
            uri = URI.create(t);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("malformed --primary URL " + withoutPassword(t) + ": " + e.getMessage(), e);
        }
        if (uri.getRawUserInfo() != null) {
            String[] up = uri.getRawUserInfo().split(":", 2);
            kv.put("user", decode(up[0]));
            if (up.length == 2) {
                kv.put("password", decode(up[1]));
            }
        }
        if (uri.getHost() != null) {
            kv.put("host", uri.getHost().replace("[", "").replace("]", ""));
        }
        if (uri.getPort() > 0) {
            kv.put("port", Integer.toString(uri.getPort()));
        }
        if (uri.getPath() != null && uri.getPath().length() > 1) {
            kv.put("dbname", uri.getPath().substring(1));
        }
        if (uri.getRawQuery() != null) {
            for (String pair : uri.getRawQuery().split("&")) {
                String[] p = pair.split("=", 2);
                kv.put(decode(p[0]), p.length == 2 ? decode(p[1]) : "");
            }
        }
    }

    /** libpq's keyword = value syntax: values may be single-quoted, with \' and \\ escapes. */
    static void parseKeywordValue(String t, Map<String, String> kv) {
        int i = 0;
        int n = t.length();
        while (i < n) {
            while (i < n && Character.isWhitespace(t.charAt(i))) {
                i++;
            }
            if (i >= n) {
                break;
            }
            int eq = t.indexOf('=', i);
            if (eq < 0) {
                throw new IllegalArgumentException("missing '=' after \"" + t.substring(i) + "\" in --primary");
            }
            String key = t.substring(i, eq).trim();
            i = eq + 1;
            while (i < n && Character.isWhitespace(t.charAt(i))) {
                i++;
            }
            StringBuilder v = new StringBuilder();
            if (i < n && t.charAt(i) == '\'') {
                i++;
                while (i < n && t.charAt(i) != '\'') {
                    if (t.charAt(i) == '\\' && i + 1 < n) {
                        i++;
                    }
                    v.append(t.charAt(i++));
                }
                if (i >= n) {
                    throw new IllegalArgumentException("unterminated quoted value for " + key + " in --primary");
                }
                i++;
            } else {
                while (i < n && !Character.isWhitespace(t.charAt(i))) {
                    if (t.charAt(i) == '\\' && i + 1 < n) {
                        i++;
                    }
                    v.append(t.charAt(i++));
                }
            }
            kv.put(key, v.toString());
        }
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    private static String withoutPassword(String t) {
        return t.replaceAll("(password=)[^&\\s]*", "$1***").replaceAll("(//[^/:@]*):[^@/]*@", "$1:***@");
    }

    @Override
    public String toString() {
        return display;
    }
}
