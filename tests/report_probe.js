// Walks a Snakemake 9 report the way a reader does, by clicking its navigation bar: the
// menu's categories, each one's (sub)categories and result rows, a row's view button and
// its info button. tests/test_report.py installs this in the page and calls its functions.
window.reportProbe = (() => {
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

    async function until(test, what, ms = 10000) {
        const start = Date.now();
        for (;;) {
            const value = test();
            if (value) return value;
            if (Date.now() - start > ms) throw new Error(`report: no ${what} after ${ms} ms`);
            await sleep(25);
        }
    }

    const navbar = () => document.querySelector("#app nav");
    const general = ["Workflow", "Statistics", "About"];
    const items = () => [...navbar().querySelectorAll(":scope > div > div.p-3 > ul > li > a")];
    const label = (a) => a.innerText.trim();
    const table = () => navbar().querySelector(":scope > div > div.p-3 table");
    const content = () => document.querySelector("#app > div > div.grow");

    async function click(links, name) {
        const link = await until(() => links().find((a) => label(a) === name), `link ${name}`);
        link.click();
    }

    async function home() {
        const crumb = await until(() => navbar().querySelector("nav ol li a"), "home link");
        crumb.click();
        await until(() => items().some((a) => label(a) === "Workflow"), "menu");
    }

    // The workflow's description (the start page: call this first) and the categories.
    async function menu() {
        await until(() => navbar() && items().length, "navigation bar");
        const description = await until(() => content().querySelector(".prose"), "description");
        return {
            description: description.innerText.trim(),
            description_html: description.innerHTML,
            categories: items().map(label).filter((name) => !general.includes(name)),
        };
    }

    // Opens a category: its subcategories, or [] when it goes straight to its results.
    async function category(name) {
        await home();
        await click(items, name);
        await until(() => table() || !items().some((a) => label(a) === "Workflow"), name);
        return table() ? [] : items().map(label);
    }

    async function rows(name, sub) {
        const subcategories = await category(name);
        if (sub !== null) await click(items, sub);
        const body = await until(() => table(), `results of ${name}`);
        return [...body.querySelectorAll("tbody tr")].map((tr) => {
            const cells = [...tr.querySelectorAll("td")];
            return { labels: cells.slice(0, -1).map((td) => td.innerText.trim()),
                     buttons: cells[cells.length - 1].querySelectorAll("a").length };
        }).concat(subcategories.length && sub === null ? [{ subcategories }] : []);
    }

    async function button(name, sub, row, which) {
        await rows(name, sub);
        return table().querySelectorAll("tbody tr")[row].querySelectorAll("td:last-child a")[which];
    }

    // The row's view button: an image or an iframe in the content pane, or a download.
    async function view(name, sub, row) {
        const eye = await button(name, sub, row, 0);
        const href = eye.getAttribute("href") || "";
        if (href.startsWith("data:")) {
            const comma = href.indexOf(",");
            const data = href.slice(comma + 1);
            const base64 = href.slice(0, comma).endsWith(";base64");
            return { kind: "download", name: eye.getAttribute("download"),
                     mime: href.slice(5, href.indexOf(";")),
                     text: base64 ? atob(data) : decodeURIComponent(data) };
        }
        const before = content().querySelector("img, iframe");
        eye.click();
        const shown = await until(() => {
            const el = content().querySelector("img, iframe");
            return el && el !== before && el.getAttribute("src") ? el : null;
        }, `view of row ${row} of ${name}`);
        if (shown.tagName === "IMG") {
            await shown.decode();
            return { kind: "img", width: shown.naturalWidth, height: shown.naturalHeight };
        }
        return { kind: "iframe", src: shown.getAttribute("src").slice(0, 40) };
    }

    // The row's info button: the path shown and the caption, as HTML.
    async function info(name, sub, row) {
        (await button(name, sub, row, 1)).click();
        const heading = await until(() => [...navbar().querySelectorAll("li")].find(
            (li) => li.innerText.trim().toUpperCase() === "SIZE"), "result info");
        const caption = navbar().querySelector("li.prose");
        return { path: heading.closest("ul").querySelector("li.p-1 span span").innerText.trim(),
                 caption_html: caption ? caption.innerHTML : "",
                 caption: caption ? caption.innerText.trim() : "" };
    }

    return { menu, rows, view, info };
})();
