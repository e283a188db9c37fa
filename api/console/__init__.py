"""The dispatcher console: one static page (index.html, console.js, console.css), no build step."""
