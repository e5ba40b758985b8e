package dev.resnext.serve;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.data.Normalization;
import dev.resnext.data.SyntheticShapes;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.runtime.GraphRuntime;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import javax.imageio.ImageIO;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The web page of {@code serve} in headless Chromium: the model line appears, an uploaded image gets
 * its label, a probability per class and a Grad-CAM overlay, a file that is not an image gets an error
 * line, and a screenshot is written to {@code target/browser/serve-page.png}.
 * Run by scripts/test-web.sh ({@code mvn -Pbrowser test -Dtest=WebPageBrowserTest}).
 */
@Tag("browser")
class WebPageBrowserTest {
    @TempDir
    Path dir;

    @Test
    void uploadAnImageAndSeeTheLabelAndTheOverlay() throws Exception {
        Backends.initialize(BackendChoice.CPU);
        ResNeXtConfig c = Presets.small().toBuilder().input(32, 32, 3).numClasses(4).build();
        Path zip = dir.resolve("shapes-demo.zip");
        ModelZip.save(zip, GraphRuntime.create(ResNeXtGraphFactory.build(c)),
                ModelMetadata.create(c, SyntheticShapes.CLASSES, null, null, null),
                Normalization.of(new float[] {0.3f, 0.3f, 0.3f}, new float[] {0.2f, 0.2f, 0.2f}), false);
        Path image = dir.resolve("circle.png");
        ImageIO.write(SyntheticShapes.draw(0, 96, 3, 1), "png", image.toFile());
        Path notImage = Files.writeString(dir.resolve("notes.png"), "this is not an image");

        ModelServer server = ModelServer.builder().setModel(zip).optPort(0).build();
        server.start();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(System.getProperty("chromium.binary", "/usr/bin/chromium"));
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1100,900");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(System.getProperty("chromedriver", "/usr/bin/chromedriver"))).build();
        WebDriver driver = new ChromeDriver(service, options);
        try {
            WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(60));
            driver.get(server.uri().toString());
            wait.until(d -> d.findElement(By.id("model-line")).getText().contains("shapes-demo"));
            assertTrue(driver.findElement(By.id("model-json")).getAttribute("textContent").contains("resnext-model/2"));

            driver.findElement(By.id("file")).sendKeys(image.toString());
            wait.until(d -> d.findElement(By.id("result")).isDisplayed());
            String label = driver.findElement(By.id("label")).getText();
            assertTrue(SyntheticShapes.CLASSES.contains(label), "label shown: " + label);
            assertEquals(4, driver.findElements(By.cssSelector("#probabilities tbody tr")).size());
            JavascriptExecutor js = (JavascriptExecutor) driver;
            wait.until(d -> ((Number) js.executeScript(
                    "return document.getElementById('overlay').naturalWidth")).intValue() > 0);
            assertTrue(driver.findElement(By.id("overlay")).getAttribute("src").startsWith("data:image/png;base64,"));
            assertTrue(driver.findElement(By.id("overlay-caption")).getText().startsWith("Grad-CAM for"));

            Path shots = Path.of("target", "browser");
            Files.createDirectories(shots);
            File shot = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
            Files.copy(shot.toPath(), shots.resolve("serve-page.png"), StandardCopyOption.REPLACE_EXISTING);

            driver.findElement(By.id("file")).sendKeys(notImage.toString());
            wait.until(d -> d.findElement(By.id("error")).isDisplayed());
            String error = driver.findElement(By.id("error")).getText();
            assertTrue(error.contains("notes.png") && error.contains("cannot read image"), error);
            assertFalse(driver.findElement(By.id("result")).isDisplayed());
        } finally {
            driver.quit();
            server.stop();
        }
    }
}
