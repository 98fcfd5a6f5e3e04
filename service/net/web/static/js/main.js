// The page's entry point (index.html loads it as a module): start the app.

import { App } from "./app.js";

new App().start();
