package node

import (
	"context"
	"fmt"
	"os"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/notify"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/webhook"
)

// notifyChannels builds the channels of the configuration's notify list.
func notifyChannels(cfg config.Config) ([]notify.Channel, error) {
	var out []notify.Channel
	for _, ch := range cfg.Notify {
		s, err := webhook.New(ch.Type, ch.URL, ch.Secret, webhook.Options{})
		if err != nil {
			return nil, fmt.Errorf("notify channel %s: %w", ch.Name, err)
		}
		out = append(out, notify.Channel{Name: ch.Name, Events: ch.Events, Sender: s})
	}
	return out, nil
}

// notices runs the notifier (notify.Service.Run) on a renewer node that has
// channels configured.
func (n *Node) notices(ctx context.Context, cfg config.Config, store *sqlstore.Store) {
	channels, err := notifyChannels(cfg)
	if err != nil { // checkSettings built them once already
		n.log.Error("notifications are off", "error", err)
		return
	}
	host, _ := os.Hostname()
	svc := &notify.Service{Store: store, Channels: channels, Owner: fmt.Sprintf("%s/%d/%p", host, os.Getpid(), n),
		Log: n.log.With("component", "notify")}
	names := make([]string, len(channels))
	for i, c := range channels {
		names[i] = c.Name
	}
	n.log.Info("notifier started", "channels", names, "poll", cfg.NotifyPoll)
	svc.Run(ctx, config.Duration(cfg.NotifyPoll))
}
