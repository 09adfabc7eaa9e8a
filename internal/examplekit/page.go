package examplekit

import "html/template"

// document is the HTML document of every example page. Like Usher's own
// pages it links Usher's stylesheet and has no inline script or style, so
// that CSP holds.
const document = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{template "title" .}}</title>
<link rel="stylesheet" href="/user/static/usher.css">
</head>
<body>
{{template "body" .}}</body>
</html>
`

// layout is the body of the pages Layout makes: a top bar with the app's
// name and the account links, then a card with the page's title, its
// "content" and the site's "links".
const layout = `{{define "title"}}{{.Title}} – {{appName}}{{end}}
{{define "body"}}<header class="top">
<a class="brand" href="/"><span>{{appName}}</span></a>
<nav class="topnav" aria-label="Account">
{{- if .User}}
<a href="/user/profile">{{block "who" .User}}{{.Email}}{{end}}</a>
<a href="/user/logout">Log out</a>
{{- else}}
<a href="/user/login">Log in</a>
<a href="/user/register">Register</a>
{{- end}}
</nav>
</header>
<main id="main"><div class="card">
<h1>{{.Title}}</h1>
{{template "content" .}}
<ul class="links">
{{block "links" .}}{{end}}</ul>
</div></main>
{{end}}`

// Document returns an HTML page whose <title> and <body> are the
// templates "title" and "body" that src defines. The page links Usher's
// stylesheet (/user/static/usher.css), whose classes src may use, and has
// no inline script or style. It panics if src does not parse.
func Document(src string) *template.Template {
	return template.Must(template.Must(template.New("document").Parse(document)).Parse(src))
}

// Layout returns the frame of the pages of an app named appName: a top
// bar with the app's name and, on the right, "Log in" and "Register" for
// visitors or the user (its template "who", given the *usher.User; by
// default the e-mail address) and "Log out"; below it a card with the
// page's title, its template "content" and a list of links, the template
// "links" (<li> elements). The data must have the fields Title (string)
// and User (*usher.User, nil for visitors).
//
// src defines "links" and, if need be, "who"; each page is a Clone of the
// result that defines "content". Layout panics if src does not parse.
func Layout(appName string, src string) *template.Template {
	t := template.New("document").Funcs(template.FuncMap{"appName": func() string { return appName }})
	t = template.Must(t.Parse(document))
	t = template.Must(t.Parse(layout))
	return template.Must(t.Parse(src))
}
