/** Entry point of the bundle (esbuild → static/frontend/app.js). */

import { App } from "./app.js";

new App(document.getElementById("app")).start();
