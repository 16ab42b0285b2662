// tests/lab/web/page.mjs URL QID: load sluiced's accepted-mail page in
// headless Chromium (playwright-core driving /usr/bin/chromium) and wait
// until a row for queue ID QID shows; prints that row's cells, tab-separated.
import { chromium } from "playwright-core";

const [url, qid] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage();
  await page.goto(url);
  const row = page.locator(`tr[data-id="${qid}"]`);
  await row.waitFor({ timeout: 15000 });
  const cells = await row.locator("td").allTextContents();
  console.log(cells.join("\t"));
  console.log("queued: " + await page.locator("#queued").textContent());
} finally {
  await browser.close();
}
