package actor

import (
	"bytes"
	"time"

	"github.com/phpsession/phpsession/cache"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/redisio"
)

// serveReads answers read ops without the lock, then refreshes the
// session's TTL if one is due (refreshIfDue).
func (a *sessionActor) serveReads(ops []*Op) {
	var (
		doc    *Doc
		found  bool
		err    error
		have   bool
		forced bool
	)
	for _, op := range ops {
		if !op.claim() {
			continue
		}
		if !have {
			doc, found, err = a.readDoc()
			have = true
		}
		forced = forced || op.refresh
		if err != nil {
			op.answer(err)
			continue
		}
		op.answer(op.run(doc, found))
	}
	if have && err == nil && found {
		a.refreshIfDue(doc, forced)
	}
}

// refreshIfDue keeps a session that is only read alive, as PHP's
// read-only requests do (lazy_write: update_timestamp, phpredis's EXPIRE):
// at most once per Settings.ReadRefresh for all the reads of the session,
// after they were answered, and never for a session that does not exist
// (EXPIRE does not recreate one that vanished meanwhile). forced: the fast
// path already claimed the refresh on doc.
func (a *sessionActor) refreshIfDue(doc *Doc, forced bool) {
	every := a.set.ReadRefresh
	if every <= 0 {
		return
	}
	now := time.Now()
	if !forced && (now.Sub(a.lastRefresh) < every || !doc.ClaimRefresh(now, every)) {
		return
	}
	a.lastRefresh = now
	doc.markRefreshed(now)
	_, err := a.env.Store.Touch(a.env.Ctx, a.id) // bounded by the store
	if err != nil {
		// the next read tries again
		a.lastRefresh = time.Time{}
		doc.refreshed.Store(0)
		a.redisErr("expire", err)
	}
}

// readDoc returns the current session from the memo, revalidated against
// the client-side-cached bytes when an invalidation arrived, or decoded.
func (a *sessionActor) readDoc() (*Doc, bool, error) {
	memo := a.env.Memo
	var e *cache.Entry[*Doc]
	if memo != nil {
		var fresh bool
		e, fresh = memo.Get(a.id)
		if fresh && !a.env.Revalidate {
			a.cacheEvent(true)
			return e.Value, e.Found, nil
		}
	}
	var seq uint64
	if memo != nil {
		seq = memo.Seq()
	}
	// bounded by Env.Ctx and by the store (redisio bounds every call)
	data, err := a.env.Store.Get(a.env.Ctx, a.id)
	if err != nil {
		return nil, false, a.redisErr("get", err)
	}
	if e != nil && e.Found == data.Found && bytes.Equal(e.Raw, data.Bytes) {
		// Entries are immutable: the revalidated one carries this read's
		// expiry (the key's TTL may have been refreshed or shortened).
		if !e.Expires.Equal(data.Expires) {
			e = &cache.Entry[*Doc]{Raw: e.Raw, Found: e.Found, Value: e.Value, Label: e.Label, Size: e.Size, Expires: data.Expires}
		}
		memo.Put(a.id, e, seq)
		a.cacheEvent(true)
		return e.Value, e.Found, nil
	}
	a.cacheEvent(false)
	doc, err := a.env.Codec.decode(data)
	if err != nil {
		return nil, false, err
	}
	if memo != nil {
		memo.Put(a.id, &cache.Entry[*Doc]{Raw: data.Bytes, Found: data.Found, Value: doc, Label: a.sessionRef(), Size: doc.size(), Expires: data.Expires}, seq)
	}
	return doc, data.Found, nil
}

func (a *sessionActor) cacheEvent(hit bool) {
	a.emit(event.Event{Kind: event.Cache, Hit: hit})
}

// docUnderLock returns the decoded session for bytes read under the lock,
// reusing the memo when the bytes are unchanged.
func (a *sessionActor) docUnderLock(d redisio.Data) (*Doc, error) {
	if memo := a.env.Memo; memo != nil {
		if e, _ := memo.Get(a.id); e != nil && e.Found == d.Found && bytes.Equal(e.Raw, d.Bytes) {
			return e.Value, nil
		}
	}
	return a.env.Codec.decode(d)
}
