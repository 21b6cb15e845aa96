namespace Jobs.Actors.Persistence.Redis.Journal;

/// <summary>
/// The journal's two Lua scripts. One call runs a batch of operations of one partition in order: KEYS holds every
/// key they touch (KEYS[1] the partition's ids, KEYS[2] its idseq), ARGV[1..2] the notification channel and the
/// partition number, then the operations, each naming its keys by index into KEYS:
/// <code>
/// W kEvents kHighest pid n (first last)×n m (seq record)×m t (kTag seq)×t x (kind kIndex member score)×x
///       one request's atomic writes of one pid; → 1, or {highest} when a sequence number is already written
/// R kEvents kHighest from to limit        a replay's highest and first page → {highest, record…}
/// D kEvents to                            delete events up to a sequence number → 1
/// P kEvents kHighest kSnapshots kExpiry pid    purge a persistence id → 1
/// </code>
/// Every argument is checked before the script is sent, so a script does not stop half-way on bad input (Redis
/// does not roll a script back): only a transport error or a foreign value under our keys can interrupt it.
/// </summary>
internal static class JournalScripts
{
    /// <summary>
    /// All operations. The <c>#!lua</c> line makes Redis 7 refuse the whole script up front when it is over
    /// maxmemory, instead of failing at its first write. A write request is checked whole before any of it is
    /// applied (its first sequence number must be above the stored highest: a lower one is a second writer, a
    /// stale node after a partition), so a conflict changes nothing and fails only that request.
    /// </summary>
    public const string Batch = """
        #!lua
        local ids, idseq = KEYS[1], KEYS[2]
        local out, wrote, i, n = {}, false, 3, #ARGV

        -- The offset of an entry is ms * 10^6 + seq, so seq must stay below 10^6. It only reaches it if the clock stays
        -- behind the stream's newest entry for 10^6 entries; the entry then starts the next millisecond instead.
        local function append(key, pid, seq)
          local id = redis.call('XADD', key, '*', 'p', pid, 's', seq)
          local dash = string.find(id, '-', 1, true)
          if #id - dash > 6 then
            redis.call('XDEL', key, id)
            redis.call('XADD', key, string.format('%d', tonumber(string.sub(id, 1, dash - 1)) + 1) .. '-0', 'p', pid, 's', seq)
          end
        end

        local function replay(events, high, from, to, limit)
          local highest = tonumber(redis.call('GET', high) or '0')
          local last = math.min(tonumber(to), highest)
          if last < 1 or tonumber(from) > last or tonumber(limit) < 1 then return {highest} end
          local page = redis.call('ZRANGEBYSCORE', events, from, last, 'LIMIT', 0, limit)
          table.insert(page, 1, highest)
          return page
        end

        while i <= n do
          local op = ARGV[i]
          if op == 'W' then
            local events, high, pid, writes = KEYS[tonumber(ARGV[i + 1])], KEYS[tonumber(ARGV[i + 2])], ARGV[i + 3], tonumber(ARGV[i + 4])
            i = i + 5
            local highest = tonumber(redis.call('GET', high) or '0')
            local running, fits = highest, true
            for _ = 1, writes do
              if tonumber(ARGV[i]) <= running then fits = false end
              running = tonumber(ARGV[i + 1])
              i = i + 2
            end
            local newest = ARGV[i - 1]
            local e0 = i + 1
            i = e0 + 2 * tonumber(ARGV[i])
            local t0 = i + 1
            i = t0 + 2 * tonumber(ARGV[i])
            local x0 = i + 1
            i = x0 + 4 * tonumber(ARGV[i])
            if fits then
              for e = e0, t0 - 3, 2 do redis.call('ZADD', events, ARGV[e], ARGV[e + 1]) end
              if running > highest then redis.call('SET', high, newest) end
              if highest == 0 then redis.call('ZADD', ids, 'NX', redis.call('INCR', idseq), pid) end
              for t = t0, x0 - 3, 2 do append(KEYS[tonumber(ARGV[t])], pid, ARGV[t + 1]) end
              for x = x0, i - 1, 4 do
                local kind, key, member = ARGV[x], KEYS[tonumber(ARGV[x + 1])], ARGV[x + 2]
                if kind == 'sa' then redis.call('SADD', key, member)
                elseif kind == 'sr' then redis.call('SREM', key, member)
                elseif kind == 'za' then redis.call('ZADD', key, ARGV[x + 3], member)
                else redis.call('ZREM', key, member) end
              end
              out[#out + 1] = 1
              wrote = true
            else
              out[#out + 1] = {highest}
            end
          elseif op == 'R' then
            out[#out + 1] = replay(KEYS[tonumber(ARGV[i + 1])], KEYS[tonumber(ARGV[i + 2])], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5])
            i = i + 6
          elseif op == 'D' then
            redis.call('ZREMRANGEBYSCORE', KEYS[tonumber(ARGV[i + 1])], '-inf', ARGV[i + 2])
            out[#out + 1] = 1
            wrote = true
            i = i + 3
          else
            local pid = ARGV[i + 5]
            redis.call('DEL', KEYS[tonumber(ARGV[i + 1])], KEYS[tonumber(ARGV[i + 2])], KEYS[tonumber(ARGV[i + 3])])
            redis.call('ZREM', ids, pid)
            redis.call('ZREM', KEYS[tonumber(ARGV[i + 4])], pid)
            out[#out + 1] = 1
            wrote = true
            i = i + 6
          end
        end
        if wrote then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
        return out
        """;

    /// <summary>
    /// Replays only (same arguments as <see cref="Batch"/>): marked read-only, so recovery still works while Redis
    /// is over maxmemory and refuses writes.
    /// </summary>
    public const string Replays = """
        #!lua flags=no-writes
        local out, i, n = {}, 3, #ARGV
        while i <= n do
          local events, high, from, to, limit = KEYS[tonumber(ARGV[i + 1])], KEYS[tonumber(ARGV[i + 2])], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
          local highest = tonumber(redis.call('GET', high) or '0')
          local last = math.min(tonumber(to), highest)
          if last < 1 or tonumber(from) > last or tonumber(limit) < 1 then
            out[#out + 1] = {highest}
          else
            local page = redis.call('ZRANGEBYSCORE', events, from, last, 'LIMIT', 0, limit)
            table.insert(page, 1, highest)
            out[#out + 1] = page
          end
          i = i + 6
        end
        return out
        """;
}
