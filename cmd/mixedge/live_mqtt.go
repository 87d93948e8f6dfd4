package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/mixedge/mixedge/camera"
)

type mqttOpts struct {
	url, user, topic, ca, haPrefix string
	interval                       time.Duration
	stableFrames, queue            int
	minScore                       float64
	haDiscovery, retry             bool
}

func addMQTTFlags(fs *flag.FlagSet, o *mqttOpts) {
	fs.StringVar(&o.url, "mqtt", "", "publish the label, stats and availability to the MQTT broker at `URL` (tcp://HOST:1883, ssl://HOST:8883, ws://HOST:PORT/mqtt)")
	fs.StringVar(&o.user, "mqtt-user", "", "MQTT user name (the password comes from $MIXEDGE_MQTT_PASSWORD)")
	fs.StringVar(&o.topic, "mqtt-topic", "", "MQTT topic prefix (default mixedge/<hostname>)")
	fs.StringVar(&o.ca, "mqtt-ca", "", "PEM file of the CA that signed the broker's certificate (ssl://)")
	fs.DurationVar(&o.interval, "mqtt-interval", 30*time.Second, "how often <prefix>/stats is published and the state repeated (heartbeat)")
	fs.IntVar(&o.stableFrames, "stable-frames", 5, "MQTT state: a new label must lead this many frames in a row before it is published")
	fs.Float64Var(&o.minScore, "min-score", 0.5, "MQTT state: frames whose best score is lower do not count towards a change")
	fs.BoolVar(&o.haDiscovery, "ha-discovery", false, "publish Home Assistant MQTT discovery configs (a label sensor with a score attribute, an fps sensor)")
	fs.StringVar(&o.haPrefix, "ha-prefix", "homeassistant", "Home Assistant discovery prefix")
	fs.BoolVar(&o.retry, "mqtt-retry", false, "start even when the broker is unreachable and keep trying in the background (default: fail at start)")
	fs.IntVar(&o.queue, "mqtt-queue", 64, "messages kept while the broker is away (the oldest are dropped and counted)")
}

// checkUnused rejects MQTT settings given without --mqtt.
func (o *mqttOpts) checkUnused() error {
	if o.user != "" || o.topic != "" || o.ca != "" || o.haDiscovery || o.retry {
		return errors.New("--mqtt-user, --mqtt-topic, --mqtt-ca, --ha-discovery and --mqtt-retry need --mqtt URL")
	}
	return nil
}

const (
	topicState = iota
	topicStats
	topicAvailable
)

// mqttMsg is a queue slot; its payload array is reused.
type mqttMsg struct {
	topic    int
	retained bool
	payload  []byte
}

// mqttSink publishes the stream to a broker. The frame loop runs the
// label hysteresis and, on a change, copies the state message into a
// bounded ring of preallocated slots; a publisher goroutine empties it
// while connected. A full ring drops its oldest message, so a slow or
// absent broker never stalls inference.
type mqttSink struct {
	o      *mqttOpts
	st     *liveState
	client mqtt.Client
	topics [3]string
	broker string
	log    io.Writer

	// hysteresis, frame loop only
	cur, cand, candN int
	stateBuf         []byte // frame loop's scratch for the state message

	mu    sync.Mutex
	state []byte // the current state message (heartbeats repeat it)

	qmu         sync.Mutex
	q           []mqttMsg
	qhead, qlen int
	wake        chan struct{}
	connected   chan struct{} // OnConnect happened (cap 1)

	published, dropped, failed, changes, connects atomic.Int64
	up                                            atomic.Bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// mqttStatus is the MQTT part of the page's updates and the summary.
type mqttStatus struct {
	Broker     string `json:"broker"`
	Connected  bool   `json:"connected"`
	Published  int64  `json:"published"`
	Dropped    int64  `json:"dropped"`
	Failed     int64  `json:"failed"`
	Queued     int64  `json:"queued"`
	Changes    int64  `json:"changes"`
	Reconnects int64  `json:"reconnects"`
}

var topicRE = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func startMQTT(o *mqttOpts, st *liveState, stderr io.Writer) (*mqttSink, error) {
	u, err := url.Parse(o.url)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--mqtt %q: want tcp://HOST:PORT, ssl://HOST:PORT or ws://HOST:PORT/PATH", o.url)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return nil, fmt.Errorf("--mqtt %q: scheme %q: want tcp, ssl or ws (or mqtt, mqtts, wss)", o.url, u.Scheme)
	}
	switch {
	case o.stableFrames < 1:
		return nil, fmt.Errorf("--stable-frames %d: want at least 1", o.stableFrames)
	case !(o.minScore >= 0 && o.minScore <= 1):
		return nil, fmt.Errorf("--min-score %v: want 0..1", o.minScore)
	case o.interval < time.Second:
		return nil, fmt.Errorf("--mqtt-interval %v: want at least 1s", o.interval)
	case o.queue < 4:
		return nil, fmt.Errorf("--mqtt-queue %d: want at least 4", o.queue)
	}
	host := hostname()
	prefix := o.topic
	if prefix == "" {
		prefix = "mixedge/" + topicRE.ReplaceAllString(host, "_")
	}
	m := newMQTTSink(o, st, prefix)
	m.broker, m.log = u.Redacted(), stderr
	co := mqtt.NewClientOptions().AddBroker(o.url).
		SetClientID(fmt.Sprintf("mixedge-%s-%d", topicRE.ReplaceAllString(host, "_"), os.Getpid())).
		SetCleanSession(true).SetKeepAlive(15*time.Second).SetPingTimeout(5*time.Second).
		SetConnectTimeout(5*time.Second).SetWriteTimeout(5*time.Second).
		SetAutoReconnect(true).SetMaxReconnectInterval(10*time.Second).
		SetOrderMatters(false).
		SetWill(m.topics[topicAvailable], "offline", 1, true)
	if o.user != "" {
		co.SetUsername(o.user).SetPassword(os.Getenv("MIXEDGE_MQTT_PASSWORD"))
	}
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, fmt.Errorf("--mqtt-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--mqtt-ca %s: no PEM certificate in it", o.ca)
		}
		co.SetTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	}
	if o.retry {
		co.SetConnectRetry(true).SetConnectRetryInterval(2 * time.Second)
	}
	co.SetOnConnectHandler(func(mqtt.Client) {
		if m.connects.Add(1) > 1 {
			fmt.Fprintf(m.log, "mixedge stream: mqtt: reconnected to %s\n", m.broker)
		}
		m.up.Store(true)
		select {
		case m.connected <- struct{}{}:
		default:
		}
	})
	co.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		m.up.Store(false)
		fmt.Fprintf(m.log, "mixedge stream: mqtt: lost %s (%v); reconnecting, inference goes on (up to %d messages are kept)\n", m.broker, err, o.queue)
	})
	m.client = mqtt.NewClient(co)
	tok := m.client.Connect()
	if o.retry {
		fmt.Fprintf(stderr, "mixedge stream: mqtt: connecting to %s (in the background: --mqtt-retry)\n", m.broker)
	} else {
		if !tok.WaitTimeout(15 * time.Second) {
			m.client.Disconnect(0)
			return nil, fmt.Errorf("--mqtt %s: no answer from the broker within 15 s (pass --mqtt-retry to start anyway and keep trying)", m.broker)
		}
		if err := tok.Error(); err != nil {
			return nil, fmt.Errorf("--mqtt %s: %v (is the broker running? --mqtt-retry starts anyway and keeps trying)", m.broker, err)
		}
		fmt.Fprintf(stderr, "mixedge stream: mqtt: connected to %s, topics %s/{state,stats,available}\n", m.broker, prefix)
	}
	st.mqtt = m
	st.sinks = append(st.sinks, m.frame)
	m.wg.Add(2)
	go m.publisher()
	go m.ticker()
	return m, nil
}

// newMQTTSink makes the sink's loop side: hysteresis and queue.
func newMQTTSink(o *mqttOpts, st *liveState, prefix string) *mqttSink {
	m := &mqttSink{o: o, st: st, cur: -1, cand: -1,
		topics:   [3]string{prefix + "/state", prefix + "/stats", prefix + "/available"},
		stateBuf: make([]byte, 0, 512), state: make([]byte, 0, 512), q: make([]mqttMsg, o.queue),
		wake: make(chan struct{}, 1), connected: make(chan struct{}, 1), stop: make(chan struct{})}
	for i := range m.q {
		m.q[i].payload = make([]byte, 0, 512)
	}
	return m
}

// frame runs the hysteresis on the frame loop: a label becomes the state
// after leading stableFrames frames in a row with a score ≥ minScore.
func (m *mqttSink) frame(s *streamer, f *camera.Frame) {
	t := s.top[0]
	if t.Index == m.cur || float64(t.Score) < m.o.minScore {
		m.candN = 0
		return
	}
	if t.Index != m.cand {
		m.cand, m.candN = t.Index, 0
	}
	if m.candN++; m.candN < m.o.stableFrames {
		return
	}
	m.cur, m.candN = t.Index, 0
	b := m.stateBuf[:0]
	b = append(b, `{"label":`...)
	b = appendJSONString(b, t.Label)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(t.Index), 10)
	b = append(b, `,"score":`...)
	b = appendJSONFloat32(b, t.Score)
	b = append(b, `,"frame":`...)
	b = strconv.AppendInt(b, f.Seq, 10)
	b = append(b, `,"ts":"`...)
	b = f.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `"}`...)
	m.stateBuf = b
	m.mu.Lock()
	m.state = append(m.state[:0], b...)
	m.mu.Unlock()
	m.changes.Add(1)
	m.push(topicState, true, b)
}

// push queues a message, dropping the oldest when full. It allocates
// nothing unless the payload outgrows its slot.
func (m *mqttSink) push(topic int, retained bool, payload []byte) {
	m.qmu.Lock()
	if m.qlen == len(m.q) {
		m.qhead = (m.qhead + 1) % len(m.q)
		m.qlen--
		m.dropped.Add(1)
	}
	s := &m.q[(m.qhead+m.qlen)%len(m.q)]
	s.topic, s.retained = topic, retained
	s.payload = append(s.payload[:0], payload...)
	m.qlen++
	m.qmu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// queued reports whether a message for topic waits in the queue.
func (m *mqttSink) queued(topic int) bool {
	m.qmu.Lock()
	defer m.qmu.Unlock()
	for i := range m.qlen {
		if m.q[(m.qhead+i)%len(m.q)].topic == topic {
			return true
		}
	}
	return false
}

// pop takes the oldest message (a copy of its payload).
func (m *mqttSink) pop() (mqttMsg, bool) {
	m.qmu.Lock()
	defer m.qmu.Unlock()
	if m.qlen == 0 {
		return mqttMsg{}, false
	}
	s := m.q[m.qhead]
	m.qhead = (m.qhead + 1) % len(m.q)
	m.qlen--
	return mqttMsg{topic: s.topic, retained: s.retained, payload: append([]byte(nil), s.payload...)}, true
}

func (m *mqttSink) send(topic string, retained bool, payload []byte) bool {
	tok := m.client.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		m.failed.Add(1)
		return false
	}
	m.published.Add(1)
	return true
}

// publisher empties the queue while connected; after each (re)connection
// it first says online, the discovery configs and the current state.
func (m *mqttSink) publisher() {
	defer m.wg.Done()
	for {
		select {
		case <-m.stop:
			return
		case <-m.connected:
			m.hello()
		case <-m.wake:
		}
		for m.client.IsConnectionOpen() {
			msg, ok := m.pop()
			if !ok {
				break
			}
			m.send(m.topics[msg.topic], msg.retained, msg.payload)
		}
	}
}

func (m *mqttSink) hello() {
	m.send(m.topics[topicAvailable], true, []byte("online"))
	if m.o.haDiscovery {
		for topic, cfg := range m.discovery() {
			m.send(topic, true, cfg)
		}
	}
	m.mu.Lock()
	state := append([]byte(nil), m.state...)
	m.mu.Unlock()
	if len(state) > 0 && m.connects.Load() > 1 && !m.queued(topicState) {
		// The broker may have lost the retained state. (A change made
		// while away is in the queue and goes out next, in order.)
		m.send(m.topics[topicState], true, state)
	}
}

// discovery is the Home Assistant MQTT discovery config of the label and
// fps sensors, by topic.
func (m *mqttSink) discovery() map[string][]byte {
	info := m.st.info
	node := topicRE.ReplaceAllString(m.topics[topicState][:len(m.topics[topicState])-len("/state")], "_")
	dev := map[string]any{"identifiers": []string{node}, "name": "mixedge " + hostname(), "manufacturer": "mixedge",
		"model": info.Arch + " (" + info.Kernels + ")", "sw_version": info.Version}
	avail := m.topics[topicAvailable]
	expire := int(3 * m.o.interval / time.Second)
	cfgs := map[string]map[string]any{
		"label": {"name": "Label", "unique_id": node + "_label", "state_topic": m.topics[topicState],
			"value_template": "{{ value_json.label }}", "json_attributes_topic": m.topics[topicState],
			"availability_topic": avail, "icon": "mdi:cctv", "expire_after": expire, "device": dev},
		"fps": {"name": "Frames per second", "unique_id": node + "_fps", "state_topic": m.topics[topicStats],
			"value_template": "{{ value_json.fps }}", "unit_of_measurement": "fps", "state_class": "measurement",
			"availability_topic": avail, "icon": "mdi:speedometer", "expire_after": expire, "device": dev},
	}
	out := map[string][]byte{}
	for k, c := range cfgs {
		b, _ := json.Marshal(c)
		out[m.o.haPrefix+"/sensor/"+node+"/"+k+"/config"] = b
	}
	return out
}

// ticker publishes the stats and repeats the state every interval.
func (m *mqttSink) ticker() {
	defer m.wg.Done()
	t := time.NewTicker(m.o.interval)
	defer t.Stop()
	last, lastFrames := time.Now(), int64(0)
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			frames := m.st.latest().Frames
			n, p50, p90, p99 := m.st.takeWindow()
			st := m.status()
			stats := map[string]any{"frames": frames, "fps": round2(float64(frames-lastFrames) / now.Sub(last).Seconds()),
				"dropped": m.st.g.Dropped(), "corrupt": m.st.corrupt(), "reconnects": m.st.reconnects(),
				"latency_ms":   map[string]any{"frames": n, "p50": round2(ms(p50)), "p90": round2(ms(p90)), "p99": round2(ms(p99))},
				"mqtt_dropped": st.Dropped, "uptime_s": int64(time.Since(m.st.start).Seconds())}
			last, lastFrames = now, frames
			b, _ := json.Marshal(stats)
			m.push(topicStats, false, b)
			m.mu.Lock()
			state := append([]byte(nil), m.state...)
			m.mu.Unlock()
			if len(state) > 0 && m.client.IsConnectionOpen() {
				m.push(topicState, true, state) // heartbeat; queued while away it would be stale
			}
		}
	}
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

func (m *mqttSink) status() mqttStatus {
	m.qmu.Lock()
	q := int64(m.qlen)
	m.qmu.Unlock()
	return mqttStatus{Broker: m.broker, Connected: m.client.IsConnectionOpen(), Published: m.published.Load(), Dropped: m.dropped.Load(),
		Failed: m.failed.Load(), Queued: q, Changes: m.changes.Load(), Reconnects: max(m.connects.Load()-1, 0)}
}

// close sends what is queued (for up to 2 s), says offline and
// disconnects; w gets a line on what was published and lost.
func (m *mqttSink) close(w io.Writer) {
	close(m.stop)
	m.wg.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for m.client.IsConnectionOpen() && time.Now().Before(deadline) {
		msg, ok := m.pop()
		if !ok {
			break
		}
		m.send(m.topics[msg.topic], msg.retained, msg.payload)
	}
	if m.client.IsConnectionOpen() {
		m.send(m.topics[topicAvailable], true, []byte("offline"))
	}
	m.client.Disconnect(250)
	st := m.status()
	fmt.Fprintf(w, "mqtt: %d messages published (%d label changes), %d dropped while the broker was away, %d failed, %d unsent at exit, %d reconnects\n",
		st.Published, st.Changes, st.Dropped, st.Failed, st.Queued, st.Reconnects)
}
