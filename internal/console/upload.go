package console

import (
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// siteParams are a call's parameters: SiteId and name/value pairs.
func siteParams(siteID int64, pairs ...string) url.Values {
	v := url.Values{"SiteId": {strconv.FormatInt(siteID, 10)}}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Set(pairs[i], pairs[i+1])
	}
	return v
}

// uploadBody is the upload form's body. The private key is never put
// back in the form: after a refusal it must be given again.
type uploadBody struct {
	Site        siteView
	Replace     *certView // the certificate being replaced, or nil for a new one
	Name        string
	Certificate string
	Error       *apiError
	KeyDropped  bool // a key had been given (and is asked for again)
	MaxFileSize int
}

// maxPEMFile bounds one uploaded file.
const maxPEMFile = 256 << 10

func (c *Console) uploadForm(w http.ResponseWriter, r *http.Request, sess *session) {
	b, ok := c.uploadTarget(w, r, sess, r.URL.Query().Get("replace"))
	if !ok {
		return
	}
	if b.Replace != nil {
		b.Name = b.Replace.Name
	}
	c.render(w, r, http.StatusOK, "upload", newPage(sess, "Upload a certificate", "sites", b))
}

// uploadTarget reads the site (and the certificate to replace, when
// replace is set) the form is for; false when it answered an error page.
func (c *Console) uploadTarget(w http.ResponseWriter, r *http.Request, sess *session, replace string) (uploadBody, bool) {
	id, ok := c.siteID(w, r, sess)
	if !ok {
		return uploadBody{}, false
	}
	b := uploadBody{MaxFileSize: maxPEMFile}
	if replace == "" {
		st, e := c.readSite(r, sess, id)
		if e != nil {
			c.apiErrorPage(w, r, sess, e)
			return b, false
		}
		b.Site = st
		return b, true
	}
	var a struct {
		SiteName string
		Result   certView
	}
	if e := c.call(r, sess, "GetCertificate", siteParams(id, "Id", replace), &a); e != nil {
		c.apiErrorPage(w, r, sess, e)
		return b, false
	}
	a.Result.fill(id, a.SiteName, c.now())
	b.Site, b.Replace = siteView{SiteId: id, SiteName: a.SiteName}, &a.Result
	return b, true
}

// upload sends the form to SetCertificate (Type upload; with Id and
// Update=true to replace one): the API validates it, and a refusal shows
// its Code and Message on the form again.
func (c *Console) upload(w http.ResponseWriter, r *http.Request, sess *session) {
	replace := r.PostFormValue("replace")
	b, ok := c.uploadTarget(w, r, sess, replace)
	if !ok {
		return
	}
	certPEM, err1 := formText(r, "certificate", "certificate_file")
	keyPEM, err2 := formText(r, "private_key", "private_key_file")
	b.Name = strings.TrimSpace(r.PostFormValue("name"))
	b.Certificate = certPEM
	b.KeyDropped = strings.TrimSpace(keyPEM) != ""
	if err1 != nil || err2 != nil {
		b.Error = &apiError{Code: "FileTooLarge", Message: "A file is larger than 256 KiB: give the PEM text of the certificate chain and its key."}
		c.render(w, r, http.StatusBadRequest, "upload", newPage(sess, "Upload a certificate", "sites", b))
		return
	}
	p := siteParams(b.Site.SiteId, "Type", "upload", "Certificate", certPEM, "PrivateKey", keyPEM)
	if b.Name != "" {
		p.Set("Name", b.Name)
	}
	if b.Replace != nil {
		p.Set("Id", b.Replace.Id)
		p.Set("Update", "true")
	}
	var a struct{ Id string }
	if e := c.call(r, sess, "SetCertificate", p, &a); e != nil {
		if e.keyGone() || e.Status == http.StatusServiceUnavailable {
			c.apiErrorPage(w, r, sess, e)
			return
		}
		b.Error = e
		status := e.Status
		if status < 400 {
			status = http.StatusBadRequest
		}
		c.render(w, r, status, "upload", newPage(sess, "Upload a certificate", "sites", b))
		return
	}
	msg := "The certificate was uploaded."
	if b.Replace != nil {
		msg = "The certificate was replaced: the edge serves the new one."
	}
	c.sessions.setFlash(cookie(r, sessionCookie), msg)
	http.Redirect(w, r, "/sites/"+strconv.FormatInt(b.Site.SiteId, 10)+"/certificates/"+url.PathEscape(a.Id), http.StatusSeeOther)
}

// formText is the text of a form field, or of the file field beside it
// when a file was chosen (the file wins).
func formText(r *http.Request, field, fileField string) (string, error) {
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File[fileField]; len(fhs) > 0 && fhs[0].Size > 0 {
			return readFile(fhs[0])
		}
	}
	return r.PostFormValue(field), nil
}

func readFile(fh *multipart.FileHeader) (string, error) {
	if fh.Size > maxPEMFile {
		return "", errFileTooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxPEMFile {
		return "", errFileTooLarge
	}
	return string(b), nil
}

var errFileTooLarge = &apiError{Code: "FileTooLarge"}
