package org.dbfs.tests;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A /metrics page as Prometheus reads it: scraped over HTTP and parsed by the Prometheus project's
 * own text-format parser (python3-prometheus-client), which fails on anything malformed.
 */
final class PrometheusText {
    private static final Path PARSER = Path.of("src", "test", "resources", "prometheus-parse.py");
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    /** Samples by {@code name{label=value,...}} (labels sorted; {@code name{}} without any). */
    final Map<String, Double> samples;

    private PrometheusText(Map<String, Double> samples) {
        this.samples = samples;
    }

    static String fetch(String url) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new AssertionError(url + " answered " + r.statusCode() + ": " + r.body());
        }
        return r.body();
    }

    static PrometheusText scrape(String url) throws IOException, InterruptedException {
        String text = fetch(url);
        Process p = new ProcessBuilder("/usr/bin/python3", PARSER.toString()).start();
        p.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError("Prometheus's parser rejected " + url + ": " + err + "\nthe text:\n" + text);
        }
        Map<String, Double> samples = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\t", -1);
            samples.put(f[0] + "{" + f[1] + "}", Double.parseDouble(f[2]));
        }
        return new PrometheusText(samples);
    }

    /** The one sample {@code key} ({@code name{labels}}); fails if it is not there. */
    double get(String key) {
        Double v = samples.get(key);
        if (v == null) {
            throw new AssertionError("no sample " + key + " among " + samples.keySet());
        }
        return v;
    }

    /** The sum of every sample named {@code name} whose labels contain {@code labelPart} ("" for all). */
    double sum(String name, String labelPart) {
        double total = 0;
        for (var e : samples.entrySet()) {
            if (e.getKey().startsWith(name + "{") && e.getKey().contains(labelPart)) {
                total += e.getValue();
            }
        }
        return total;
    }

    /** The label values of {@code label} among samples named {@code name}. */
    java.util.List<String> labelValues(String name, String label) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (String key : samples.keySet()) {
            if (key.startsWith(name + "{")) {
                for (String kv : key.substring(name.length() + 1, key.length() - 1).split(",")) {
                    if (kv.startsWith(label + "=")) {
                        out.add(kv.substring(label.length() + 1));
                    }
                }
            }
        }
        return out;
    }
}
