package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestMain lets tests run the command as a child process (to kill it).
// TestMain lets the test binary stand in for the mixedge binary: as a
// bench --busy competitor (busyArg) and as a killable stream process
// (MIXEDGE_TEST_MAIN=1).
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == busyArg {
		os.Exit(runBusyLoop(os.Stdin))
	}
	if os.Getenv("MIXEDGE_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	if liveModel.dir != "" {
		os.RemoveAll(liveModel.dir)
	}
	os.Exit(code)
}

// mosquitto is a real broker on loopback ports, started by the test.
type mosquitto struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	conf string
	cmd  *exec.Cmd
	log  *syncBuffer
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startMosquitto runs a broker with a plain listener and the extra config
// lines; it skips the test (saying why) when mosquitto is not installed.
func startMosquitto(t *testing.T, extra string) *mosquitto {
	t.Helper()
	if testing.Short() {
		t.Skip("-short (the purego and qemu legs): the broker tests run in the full amd64 leg")
	}
	bin, err := lookTool("mosquitto")
	if err != nil {
		t.Skipf("a real MQTT broker is needed: %v", err)
	}
	b := &mosquitto{t: t, bin: bin, dir: t.TempDir(), port: freePort(t)}
	b.conf = filepath.Join(b.dir, "mosquitto.conf")
	conf := fmt.Sprintf("per_listener_settings false\nallow_anonymous true\npersistence false\nlistener %d 127.0.0.1\n%s", b.port, extra)
	if os.Getuid() == 0 {
		conf = "user root\n" + conf // else it drops to user mosquitto, who cannot read the test's files
	}
	if err := os.WriteFile(b.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	b.start()
	t.Cleanup(b.stop)
	return b
}

func (b *mosquitto) url() string { return fmt.Sprintf("tcp://127.0.0.1:%d", b.port) }

func (b *mosquitto) start() {
	b.t.Helper()
	b.log = &syncBuffer{}
	b.cmd = exec.Command(b.bin, "-c", b.conf)
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", b.port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.t.Fatalf("mosquitto did not listen on %d: %s", b.port, b.log.String())
}

func (b *mosquitto) stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Kill()
		b.cmd.Wait()
		b.cmd = nil
	}
}

// mqttMsgSeen is a message a test subscriber received.
type mqttMsgSeen struct {
	topic    string
	payload  string
	retained bool
}

// subscriber records every message under the topic filters.
type subscriber struct {
	mu   sync.Mutex
	msgs []mqttMsgSeen
	c    mqtt.Client
}

func subscribe(t *testing.T, url string, filters ...string) *subscriber {
	t.Helper()
	s := &subscriber{}
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("test-%d", time.Now().UnixNano())).
		SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond)
	o.SetOnConnectHandler(func(c mqtt.Client) { // (re)subscribe on every connection
		for _, f := range filters {
			c.Subscribe(f, 1, func(_ mqtt.Client, m mqtt.Message) {
				s.mu.Lock()
				s.msgs = append(s.msgs, mqttMsgSeen{m.Topic(), string(m.Payload()), m.Retained()})
				s.mu.Unlock()
			}).Wait()
		}
	})
	s.c = mqtt.NewClient(o)
	if tok := s.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("test subscriber: %v", tok.Error())
	}
	time.Sleep(100 * time.Millisecond) // the subscription is in place
	t.Cleanup(func() { s.c.Disconnect(100) })
	return s
}

// on returns the messages on topic so far.
func (s *subscriber) on(topic string) []mqttMsgSeen {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []mqttMsgSeen
	for _, m := range s.msgs {
		if m.topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// waitFor waits until cond holds over the messages on topic.
func (s *subscriber) waitFor(t *testing.T, topic, what string, cond func([]mqttMsgSeen) bool) []mqttMsgSeen {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second) // -race on a busy machine
	for time.Now().Before(deadline) {
		if m := s.on(topic); cond(m) {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: never saw %s; got %v", topic, what, s.on(topic))
	return nil
}

func labels(t *testing.T, msgs []mqttMsgSeen) []string {
	var out []string
	for _, m := range msgs {
		var st struct {
			Label string
			Score *float64
		}
		if err := json.Unmarshal([]byte(m.payload), &st); err != nil || st.Score == nil {
			t.Errorf("state payload %q: %v", m.payload, err)
		}
		out = append(out, st.Label)
	}
	return out
}

func last(m []mqttMsgSeen) string {
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1].payload
}

// A clip whose content changes halfway (with a flicker shorter than
// --stable-frames before) gives exactly two state events; both are
// retained, the availability goes online then offline, and Home Assistant
// finds its sensors.
func TestLiveMQTTEvents(t *testing.T) {
	b := startMosquitto(t, "")
	c := newLiveClip(t)
	sub := subscribe(t, b.url(), "mixedge/test/#", "homeassistant/#")
	clip := c.y4mRuns(t, 30, 2, 10, 30) // a, b (flicker), a, b
	code, out, errs := runCLI(t, "stream", "--model", c.fw, "--source", "y4m:"+clip, "--threads", "1",
		"--mqtt", b.url(), "--mqtt-topic", "mixedge/test", "--stable-frames", "3", "--min-score", "0",
		"--mqtt-interval", "1h", "--ha-discovery")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "summary: 72 frames") || !strings.Contains(out, "(2 label changes), 0 dropped") {
		t.Errorf("summary:\n%s", out)
	}
	sub.waitFor(t, "mixedge/test/available", "offline", func(m []mqttMsgSeen) bool { return last(m) == "offline" })
	if got := labels(t, sub.on("mixedge/test/state")); fmt.Sprint(got) != fmt.Sprint([]string{c.la, c.lb}) {
		t.Errorf("state events %q, want exactly [%q %q]", got, c.la, c.lb)
	}
	if av := sub.on("mixedge/test/available"); len(av) != 2 || av[0].payload != "online" {
		t.Errorf("available: %v, want online, offline", av)
	}
	if m := sub.on("mixedge/test/stats"); len(m) != 0 {
		t.Errorf("stats before --mqtt-interval: %v", m)
	}
	node := "mixedge_test"
	var cfg map[string]any
	label := sub.on("homeassistant/sensor/" + node + "/label/config")
	if len(label) != 1 || json.Unmarshal([]byte(label[0].payload), &cfg) != nil ||
		cfg["state_topic"] != "mixedge/test/state" || cfg["json_attributes_topic"] != "mixedge/test/state" ||
		cfg["availability_topic"] != "mixedge/test/available" || cfg["unique_id"] != node+"_label" {
		t.Errorf("HA discovery config: %v", label)
	}
	if len(sub.on("homeassistant/sensor/"+node+"/fps/config")) != 1 {
		t.Errorf("no fps sensor config")
	}
	// Retained: a newcomer gets the last state, offline and the configs.
	late := subscribe(t, b.url(), "mixedge/test/#", "homeassistant/#")
	st := late.waitFor(t, "mixedge/test/state", "the retained state", func(m []mqttMsgSeen) bool { return len(m) > 0 })
	if got := labels(t, st); len(got) != 1 || got[0] != c.lb || !st[0].retained {
		t.Errorf("retained state %v, want %q", st, c.lb)
	}
	late.waitFor(t, "mixedge/test/available", "retained offline", func(m []mqttMsgSeen) bool { return len(m) == 1 && m[0].payload == "offline" && m[0].retained })
	late.waitFor(t, "homeassistant/sensor/"+node+"/label/config", "the retained config", func(m []mqttMsgSeen) bool { return len(m) == 1 })
}

// The broker goes away mid-stream: inference goes on, the state change
// made meanwhile is queued and published after the broker is back; stats
// come every --mqtt-interval.
func TestLiveMQTTReconnect(t *testing.T) {
	b := startMosquitto(t, "")
	c := newLiveClip(t)
	sub := subscribe(t, b.url(), "mixedge/rc/#")
	pr, pw := io.Pipe()
	var content atomic.Bool // false: a, true: b
	stopFeed := make(chan struct{})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for {
			fr := c.a
			if content.Load() {
				fr = c.b
			}
			if _, err := pw.Write(fr); err != nil {
				return
			}
			select {
			case <-stopFeed:
				pw.Close()
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	r, lv := startLiveRun(t, pr, nil, "stream", "--model", c.fw, "--source", "pipe:-", "--format", "i420", "--size", "64x48",
		"--threads", "1", "--mqtt", b.url(), "--mqtt-topic", "mixedge/rc", "--stable-frames", "3", "--min-score", "0", "--mqtt-interval", "1s")
	if lv == nil {
		t.Fatalf("did not start: %s", r.errs.String())
	}
	sub.waitFor(t, "mixedge/rc/state", "state a", func(m []mqttMsgSeen) bool { return len(m) > 0 })
	stats := sub.waitFor(t, "mixedge/rc/stats", "stats", func(m []mqttMsgSeen) bool { return len(m) > 0 })
	var s struct {
		Frames  int64
		FPS     *float64
		Latency map[string]float64 `json:"latency_ms"`
	}
	if err := json.Unmarshal([]byte(stats[0].payload), &s); err != nil || s.Frames == 0 || s.FPS == nil || s.Latency["p50"] <= 0 {
		t.Errorf("stats %s: %v", stats[0].payload, err)
	}
	b.stop()
	before := lv.state.latest().Frames
	time.Sleep(500 * time.Millisecond)
	content.Store(true) // a change while the broker is away
	time.Sleep(1500 * time.Millisecond)
	if during := lv.state.latest().Frames - before; during < 2 {
		t.Errorf("%d frames classified in 2 s without a broker", during)
	}
	b.start()
	sub.waitFor(t, "mixedge/rc/state", "state b after the restart", func(m []mqttMsgSeen) bool {
		return len(m) > 0 && strings.Contains(last(m), fmt.Sprintf("%q", c.lb))
	})
	sub.waitFor(t, "mixedge/rc/available", "online again", func(m []mqttMsgSeen) bool { return len(m) > 0 && last(m) == "online" })
	close(stopFeed)
	<-fed
	if code := r.wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, r.errs.String())
	}
	if !strings.Contains(r.out.String(), " 1 reconnects") || !strings.Contains(r.errs.String(), "mqtt: reconnected") {
		t.Errorf("summary should count the reconnection:\n%s\n%s", r.out.String(), r.errs.String())
	}
	sub.waitFor(t, "mixedge/rc/available", "offline at the end", func(m []mqttMsgSeen) bool { return last(m) == "offline" })
	var states []string
	for _, l := range labels(t, sub.on("mixedge/rc/state")) {
		if len(states) == 0 || states[len(states)-1] != l {
			states = append(states, l)
		}
	}
	if fmt.Sprint(states) != fmt.Sprint([]string{c.la, c.lb}) { // heartbeats repeat a state, never invent one
		t.Errorf("states %q, want [%q %q]", states, c.la, c.lb)
	}
}

// A killed process leaves its last will: offline, retained.
func TestLiveMQTTLastWill(t *testing.T) {
	b := startMosquitto(t, "")
	c := newLiveClip(t)
	sub := subscribe(t, b.url(), "mixedge/will/#")
	cmd := exec.Command(os.Args[0], "stream", "--model", c.fw, "--source", "pipe:-", "--format", "i420", "--size", "64x48",
		"--threads", "1", "--mqtt", b.url(), "--mqtt-topic", "mixedge/will", "--min-score", "0")
	cmd.Env = append(os.Environ(), "MIXEDGE_TEST_MAIN=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errs syncBuffer
	cmd.Stderr = &errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	go func() {
		for {
			if _, err := in.Write(c.a); err != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	sub.waitFor(t, "mixedge/will/state", "a state", func(m []mqttMsgSeen) bool { return len(m) > 0 })
	if av := sub.on("mixedge/will/available"); last(av) != "online" {
		t.Fatalf("available %v", av)
	}
	cmd.Process.Kill()
	cmd.Wait()
	av := sub.waitFor(t, "mixedge/will/available", "the last will", func(m []mqttMsgSeen) bool { return last(m) == "offline" })
	if strings.Contains(errs.String(), "mqtt: ") && strings.Contains(errs.String(), "published") {
		t.Errorf("the killed process said goodbye itself: %s", errs.String())
	}
	late := subscribe(t, b.url(), "mixedge/will/available")
	late.waitFor(t, "mixedge/will/available", "retained offline", func(m []mqttMsgSeen) bool { return len(m) == 1 && m[0].retained && m[0].payload == "offline" })
	t.Logf("available: %v", av)
}

// No broker: without --mqtt-retry the start fails (TestLiveStartErrors);
// with it the stream runs, its bounded queue drops the oldest messages, and
// the summary says what was lost.
func TestLiveMQTTQueue(t *testing.T) {
	c := newLiveClip(t)
	runs := make([]int, 40)
	for i := range runs {
		runs[i] = 1
	}
	clip := c.y4mRuns(t, runs...)
	code, out, errs := runCLI(t, "stream", "--model", c.fw, "--source", "y4m:"+clip, "--threads", "1",
		"--mqtt", fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t)), "--mqtt-retry", "--mqtt-queue", "4", "--stable-frames", "1", "--min-score", "0", "--mqtt-interval", "1h")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "summary: 40 frames") ||
		!strings.Contains(out, "mqtt: 0 messages published (40 label changes), 36 dropped while the broker was away, 0 failed, 4 unsent at exit") {
		t.Errorf("summary:\n%s\n%s", out, errs)
	}
}

// ssl:// with --mqtt-ca: the broker's certificate is checked against the
// given CA (a wrong CA fails at start). And ws://, MQTT over websockets.
func TestLiveMQTTTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "mixedge test CA")
	srv, srvKey := newCert(t, ca, caKey, "127.0.0.1")
	other, _ := newCert(t, nil, nil, "another CA")
	writePEM := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
		return p
	}
	caPEM := writePEM("ca.pem", "CERTIFICATE", ca.Raw)
	otherPEM := writePEM("other.pem", "CERTIFICATE", other.Raw)
	certPEM := writePEM("server.pem", "CERTIFICATE", srv.Raw)
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	keyPEM := writePEM("server.key", "EC PRIVATE KEY", keyDER)
	tlsPort, wsPort := freePort(t), freePort(t)
	b := startMosquitto(t, fmt.Sprintf("listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nlistener %d 127.0.0.1\nprotocol websockets\n",
		tlsPort, caPEM, certPEM, keyPEM, wsPort))
	sub := subscribe(t, b.url(), "mixedge/tls/#", "mixedge/ws/#")
	c := newLiveClip(t)
	clip := c.y4mRuns(t, 5)
	url := fmt.Sprintf("ssl://127.0.0.1:%d", tlsPort)
	code, out, errs := runCLI(t, "stream", "--model", c.fw, "--source", "y4m:"+clip, "--threads", "1",
		"--mqtt", url, "--mqtt-ca", caPEM, "--mqtt-topic", "mixedge/tls", "--stable-frames", "2", "--min-score", "0")
	if code != 0 || !strings.Contains(out, "(1 label changes)") {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	sub.waitFor(t, "mixedge/tls/state", "the state over TLS", func(m []mqttMsgSeen) bool { return len(m) == 1 })
	code, _, errs = runCLI(t, "stream", "--model", c.fw, "--source", "y4m:"+clip, "--threads", "1", "--mqtt", url, "--mqtt-ca", otherPEM)
	if code == 0 || !strings.Contains(errs, "certificate") {
		t.Errorf("a broker certificate from another CA: exit %d: %s", code, errs)
	}
	code, out, errs = runCLI(t, "stream", "--model", c.fw, "--source", "y4m:"+clip, "--threads", "1",
		"--mqtt", fmt.Sprintf("ws://127.0.0.1:%d/mqtt", wsPort), "--mqtt-topic", "mixedge/ws", "--stable-frames", "2", "--min-score", "0")
	if code != 0 || !strings.Contains(out, "(1 label changes)") {
		t.Fatalf("ws: exit %d: %s%s", code, out, errs)
	}
	sub.waitFor(t, "mixedge/ws/state", "the state over websockets", func(m []mqttMsgSeen) bool { return len(m) == 1 })
}

// newCert makes a P-256 certificate: self-signed (a CA) when parent is nil,
// else a server certificate for 127.0.0.1.
func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	signer, signKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	} else {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		signer, signKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}
