package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
	"time"
)

func TestZZShot(t *testing.T) {
	url := os.Getenv("ZZ_URL")
	if url == "" {
		t.Skip()
	}
	br := startChromium(t)
	br.call("Page.navigate", map[string]any{"url": url})
	time.Sleep(6 * time.Second)
	t.Log(br.eval(`document.getElementById("frame").naturalWidth + " " + document.getElementById("frame").src`))
	var png struct{ Data string }
	json.Unmarshal(br.call("Page.captureScreenshot", map[string]any{"format": "png"}), &png)
	b, _ := base64.StdEncoding.DecodeString(png.Data)
	os.WriteFile(os.Getenv("ZZ_OUT"), b, 0o644)
	t.Log(br.errors())
}
