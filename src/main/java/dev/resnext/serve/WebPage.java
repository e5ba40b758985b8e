package dev.resnext.serve;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The web page's three files, read once from the jar: a fixed list, so that no request can name a
 * file to read. Plain HTML, JavaScript and CSS: no build step, nothing fetched from the internet.
 */
final class WebPage {
    /** A file of the page. */
    record Resource(String contentType, byte[] body) {
    }

    private final Map<String, Resource> files = Map.of(
            "/", load("index.html", "text/html; charset=utf-8"),
            "/app.js", load("app.js", "text/javascript; charset=utf-8"),
            "/style.css", load("style.css", "text/css; charset=utf-8"));

    Resource get(String path) {
        Resource r = files.get(path);
        if (r == null) throw new HttpProblem(404, "no such page: " + path);
        return r;
    }

    private static Resource load(String name, String type) {
        try (InputStream in = WebPage.class.getResourceAsStream("web/" + name)) {
            if (in == null) throw new IllegalStateException("web/" + name + " is missing from the jar");
            return new Resource(type, in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
