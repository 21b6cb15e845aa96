using StackExchange.Redis;

namespace Jobs.Actors.Persistence.Redis.Journal;

/// <summary>
/// The journal's Lua scripts. One call of <see cref="Batch"/> runs a batch of operations of one partition in order:
/// KEYS holds every key they touch (KEYS[1] the partition's ids, KEYS[2] its idseq), ARGV[1..2] the notification
/// channel and the partition number, then the operations, each naming its keys by index into KEYS:
/// <code>
/// W kEvents kHighest pid n (first last)×n m element×m t (kTag seq)×t x (kind kIndex member score)×x
///       one request's atomic writes of one pid; → 1, or {highest} when a sequence number is already written
/// R kEvents kHighest from to limit        a replay's highest and first page → {highest, element…}
/// D kEvents kHighest to                   delete events up to a sequence number → 1
/// P kEvents kHighest kSnapshots kExpiry pid    purge a persistence id → 1
/// </code>
/// A persistence id's events are a list, oldest first, of elements "sequence number (8 bytes, big-endian) ‖ record"
/// (see <see cref="EventRecords"/>): RPUSH costs Redis about half of a sorted set's ZADD per event and ~8 bytes of
/// overhead instead of ~130 (measured on this machine). Sequence numbers increase along the list; a rejected write
/// leaves a gap, so a position is guessed from the first element's number and checked (a binary search if a gap
/// lies below it). The highest sequence number is the last element's; only a delete that removes every event keeps
/// it in the jh key.
/// <para>
/// Every argument is checked before a script is sent, so a script does not stop half-way on bad input (Redis does
/// not roll a script back): only a transport error or a foreign value under our keys can interrupt it.
/// </para>
/// </summary>
internal static class JournalScripts
{
    private const string EventLists = """
        local function seq_of(element)
          local high, low = struct.unpack('>I4I4', element)
          return high * 4294967296 + low
        end

        -- The index of the first element numbered s or more (n when none) in a list of n elements starting at base.
        local function index_of(events, n, base, s)
          if s <= base then return 0 end
          local hi = math.min(s - base, n)
          if hi < n and seq_of(redis.call('LINDEX', events, hi)) == s then return hi end
          local lo = 0
          while lo < hi do
            local mid = math.floor((lo + hi) / 2)
            if seq_of(redis.call('LINDEX', events, mid)) >= s then hi = mid else lo = mid + 1 end
          end
          return lo
        end

        local function replay(events, high, from, to, limit)
          local first = redis.call('LINDEX', events, 0)
          if not first then return {tonumber(redis.call('GET', high) or '0')} end
          local highest = seq_of(redis.call('LINDEX', events, -1))
          local last = math.min(tonumber(to), highest)
          from = tonumber(from)
          if tonumber(limit) < 1 or from > last then return {highest} end
          local start = index_of(events, redis.call('LLEN', events), seq_of(first), from)
          local out = {highest}
          for _, element in ipairs(redis.call('LRANGE', events, start, start + tonumber(limit) - 1)) do
            if seq_of(element) > last then break end
            out[#out + 1] = element
          end
          return out
        end

        """;

    /// <summary>
    /// All operations. The <c>#!lua</c> line makes Redis 7 refuse the whole script up front when it is over
    /// maxmemory, instead of failing at its first write. A write request is checked whole before any of it is
    /// applied (its first sequence number must be above the stored highest: a lower one is a second writer, a
    /// stale node after a partition), so a conflict changes nothing and fails only that request.
    /// </summary>
    public const string Batch = "#!lua\n" + EventLists + """
        local ids, idseq = KEYS[1], KEYS[2]
        local out, wrote, i, n = {}, false, 3, #ARGV

        local function highest_of(events, high)
          local newest = redis.call('LINDEX', events, -1)
          if newest then return seq_of(newest) end
          return tonumber(redis.call('GET', high) or '0')
        end

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

        while i <= n do
          local op = ARGV[i]
          if op == 'W' then
            local events, high, pid, writes = KEYS[tonumber(ARGV[i + 1])], KEYS[tonumber(ARGV[i + 2])], ARGV[i + 3], tonumber(ARGV[i + 4])
            i = i + 5
            local highest = highest_of(events, high)
            local running, fits = highest, true
            for _ = 1, writes do
              if tonumber(ARGV[i]) <= running then fits = false end
              running = tonumber(ARGV[i + 1])
              i = i + 2
            end
            local e0 = i + 1
            i = e0 + tonumber(ARGV[i])
            local t0 = i + 1
            i = t0 + 2 * tonumber(ARGV[i])
            local x0 = i + 1
            i = x0 + 4 * tonumber(ARGV[i])
            if fits then
              for e = e0, t0 - 2, 100 do redis.call('RPUSH', events, unpack(ARGV, e, math.min(e + 99, t0 - 2))) end
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
            local events, high, to = KEYS[tonumber(ARGV[i + 1])], KEYS[tonumber(ARGV[i + 2])], tonumber(ARGV[i + 3])
            local count = redis.call('LLEN', events)
            if count > 0 then
              local newest = seq_of(redis.call('LINDEX', events, -1))
              if to >= newest then
                redis.call('SET', high, string.format('%d', newest))
                redis.call('DEL', events)
              else
                local keep = index_of(events, count, seq_of(redis.call('LINDEX', events, 0)), to + 1)
                if keep > 0 then redis.call('LTRIM', events, keep, -1) end
              end
            end
            out[#out + 1] = 1
            wrote = true
            i = i + 4
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
    public const string Replays = "#!lua flags=no-writes\n" + EventLists + """
        local out, i, n = {}, 3, #ARGV
        while i <= n do
          out[#out + 1] = replay(KEYS[tonumber(ARGV[i + 1])], KEYS[tonumber(ARGV[i + 2])], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5])
          i = i + 6
        end
        return out
        """;

    /// <summary>The element of a persistence id's event numbered s, or '' when it is gone (deleted, purged).</summary>
    private const string FindEvent = """
        local function find(events, s)
          local first = redis.call('LINDEX', events, 0)
          if not first then return '' end
          local base = seq_of(first)
          if s < base then return '' end
          local guess = redis.call('LINDEX', events, s - base)
          if guess and seq_of(guess) == s then return guess end
          local count = redis.call('LLEN', events)
          local at = index_of(events, count, base, s)
          if at < count then
            local element = redis.call('LINDEX', events, at)
            if seq_of(element) == s then return element end
          end
          return ''
        end

        """;

    /// <summary>
    /// One page of a tag stream with its events, read server-side (no lookup per entry). KEYS[1] the tag stream;
    /// ARGV: the partition's events prefix, the last ID read ('' = from the start), the last ID to read ('' = the
    /// stream's newest now, '+' = no bound), the page size. Returns {last ID to read, (ID, element or '')…}; '' stands
    /// for an event deleted or purged since. The events' keys are not in KEYS: they share the stream's hash tag, so
    /// they are in the slot Redis Cluster routes the script to.
    /// </summary>
    public const string TagPage = "#!lua flags=no-writes\n" + EventLists + FindEvent + """
        local stream, prefix, after, last, count = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
        if last == '' then
          local newest = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
          if #newest == 0 then return {'0-0'} end
          last = newest[1][1]
        end
        local start = '-'
        if after ~= '' then start = '(' .. after end
        local out = {last}
        for _, entry in ipairs(redis.call('XRANGE', stream, start, last, 'COUNT', count)) do
          local fields = entry[2]
          out[#out + 1] = entry[1]
          out[#out + 1] = find(prefix .. fields[2], tonumber(fields[4]))
        end
        return out
        """;

    /// <summary>
    /// One page of a tag stream's entries, without their events: one XRANGE. KEYS[1] the tag stream; ARGV: the last
    /// ID read ('' = from the start), the last ID to read ('' = the entries at least ARGV[3] ms old by Redis's
    /// clock), the settle time in ms, the page size. Returns {last ID to read, (ID, pid, seq)…}.
    /// </summary>
    public const string TagEntries = """
        #!lua flags=no-writes
        local stream, after, last, count = KEYS[1], ARGV[1], ARGV[2], ARGV[4]
        if last == '' then
          local now = redis.call('TIME')
          local bound = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[3])
          if bound < 0 then return {'0-0'} end
          last = string.format('%d', bound)
        end
        local start = '-'
        if after ~= '' then start = '(' .. after end
        local out = {last}
        for _, entry in ipairs(redis.call('XRANGE', stream, start, last, 'COUNT', count)) do
          local fields = entry[2]
          out[#out + 1] = entry[1]
          out[#out + 1] = fields[2]
          out[#out + 1] = fields[4]
        end
        return out
        """;

    /// <summary>
    /// Chosen events of one partition: ARGV[1] the partition's events prefix, then (pid, seq) pairs. Returns one
    /// element per pair, '' for an event gone since. Like <see cref="TagPage"/>, the events' keys share the slot of
    /// KEYS[1] (any key of the partition).
    /// </summary>
    public const string EventsOf = "#!lua flags=no-writes\n" + EventLists + FindEvent + """
        local prefix, out = ARGV[1], {}
        for i = 2, #ARGV, 2 do
          out[#out + 1] = find(prefix .. ARGV[i], tonumber(ARGV[i + 1]))
        end
        return out
        """;

    /// <summary>
    /// One page of a persistence id's events from <paramref name="from"/> to <paramref name="to"/> through
    /// <see cref="Replays"/>: the highest sequence number and up to <paramref name="limit"/> elements.
    /// </summary>
    public static async Task<(long Highest, RedisResult[] Elements)> ReadPageAsync(
        IDatabase database, RedisKeys keys, string persistenceId, long from, long to, int limit)
    {
        var partition = keys.PartitionOf(persistenceId);
        RedisKey[] scriptKeys =
        [
            keys.PersistenceIds(partition), keys.PersistenceIdCounter(partition),
            keys.Events(partition, persistenceId), keys.Highest(partition, persistenceId),
        ];
        var result = await database.ScriptEvaluateAsync(Replays, scriptKeys, ["", partition, "R", 3, 4, from, to, limit]).ConfigureAwait(false);
        var page = (RedisResult[])((RedisResult[])result!)[0]!;
        return ((long)page[0], page[1..]);
    }
}
