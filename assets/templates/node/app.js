// A tiny web app: run `node app.js`, then open http://localhost:3000.
const http = require("http");

http
  .createServer((req, res) => res.end("Hello from your podbay workspace\n"))
  .listen(3000, "0.0.0.0");
