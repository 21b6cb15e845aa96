using System.Text.Json;
using Jobs.Actors.Canvas;
using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Canvas;

/// <summary>The coordinator's rules, without actors: what runs next, what the result is, when it failed.</summary>
public sealed class CanvasStateSpec
{
    private static int _ids;

    private static CanvasState Started(Signature root)
    {
        var state = CanvasState.Empty("c1");
        return state.Apply(new CanvasStarted("c1", (root with { Id = "c1" }).WithIds(() => "t" + Interlocked.Increment(ref _ids)), DateTimeOffset.UnixEpoch));
    }

    private static CanvasState Finish(CanvasState state, string taskId, object result) =>
        state.Apply(new CanvasMemberFinished("c1", taskId, TaskState.Success, JsonSerializer.SerializeToElement(result), null));

    private static CanvasState Fail(CanvasState state, string taskId) =>
        state.Apply(new CanvasMemberFinished("c1", taskId, TaskState.Failure, null, new TaskError("ValueError", "bad", "trace")));

    [Fact]
    public void A_chain_sends_one_step_at_a_time_with_the_previous_result_first()
    {
        var state = Started(Signature.Chain(Signature.Of("tasks.add", 2, 2), Signature.Of("tasks.add", 4), Signature.Of("tasks.add", 8)));
        var (status, sends) = state.Evaluate();
        Assert.Same(NodeStatus.Waiting, status);
        var first = Assert.Single(sends);
        Assert.Equal("[2,2]", first.Args.GetRawText());

        (_, sends) = (state = Finish(state, first.TaskId, 4)).Evaluate();
        var second = Assert.Single(sends);
        Assert.Equal("[4,4]", second.Args.GetRawText());

        (_, sends) = (state = Finish(state, second.TaskId, 8)).Evaluate();
        var third = Assert.Single(sends);
        Assert.Equal("[8,8]", third.Args.GetRawText());

        var (done, _) = Finish(state, third.TaskId, 16).Evaluate();
        Assert.Equal(16, Assert.IsType<NodeStatus.Done>(done).Result.GetInt32());
    }

    [Fact]
    public void The_step_after_a_chain_step_in_flight_is_upcoming_and_one_held_back_by_the_window_names_none()
    {
        var state = Started(Signature.Chain(Signature.Of("tasks.add", 2, 2), Signature.Of("tasks.add", 4), Signature.Of("tasks.add", 8)));
        var ids = state.Root!.Members.Select(m => m.Id!).ToArray();
        var upcoming = new List<string>();
        state.Evaluate(upcoming: upcoming);
        Assert.Equal([ids[1]], upcoming);

        upcoming.Clear();
        state.Evaluate(room: 0, upcoming: upcoming);
        Assert.Empty(upcoming);

        upcoming.Clear();
        Finish(Finish(state, ids[0], 4), ids[1], 8).Evaluate(upcoming: upcoming);
        Assert.Empty(upcoming);
    }

    [Fact]
    public void A_group_result_keeps_submission_order_whatever_the_finishing_order()
    {
        var state = Started(Signature.Group(Enumerable.Range(0, 3).Select(i => Signature.Of("tasks.add", i, i))));
        var (_, sends) = state.Evaluate();
        Assert.Equal(3, sends.Count);
        state = Finish(state, sends[2].TaskId, 4);
        state = Finish(state, sends[0].TaskId, 0);
        Assert.Same(NodeStatus.Waiting, state.Evaluate().Status);
        var done = Assert.IsType<NodeStatus.Done>(Finish(state, sends[1].TaskId, 2).Evaluate().Status);
        Assert.Equal("[0,2,4]", done.Result.GetRawText());
    }

    [Fact]
    public void A_chord_body_is_sent_once_after_every_header_member()
    {
        var state = Started(Signature.Chord(Enumerable.Range(0, 3).Select(i => Signature.Of("tasks.add", i, i)), Signature.Of("tasks.xsum")));
        var (_, header) = state.Evaluate();
        Assert.Equal(3, header.Count);
        state = Finish(Finish(state, header[0].TaskId, 0), header[1].TaskId, 2);
        Assert.DoesNotContain(state.Evaluate().Submissions, s => s.Task == "tasks.xsum");
        state = Finish(state, header[2].TaskId, 4);
        var body = Assert.Single(state.Evaluate(alreadySent: id => header.Any(h => h.TaskId == id)).Submissions);
        Assert.Equal("tasks.xsum", body.Task);
        Assert.Equal("[[0,2,4]]", body.Args.GetRawText());
    }

    [Fact]
    public void A_failed_chain_step_stops_the_chain_and_fires_its_error_links()
    {
        var errback = Signature.Of("test.on_error");
        var state = Started(Signature.Chain(Signature.Of("tasks.fail", "x").WithLinkError(errback), Signature.Of("tasks.add", 1)));
        var first = Assert.Single(state.Evaluate().Submissions);
        var (status, sends) = Fail(state, first.TaskId).Evaluate();
        var failed = Assert.IsType<NodeStatus.Failed>(status);
        Assert.Equal(first.TaskId, failed.TaskId);
        var error = Assert.Single(sends);
        Assert.Equal("test.on_error", error.Task);
        Assert.Equal($"[\"{first.TaskId}\",\"ValueError\",\"bad\",\"trace\"]", error.Args.GetRawText());
    }

    [Fact]
    public void A_failed_header_member_fails_the_chord_naming_it_and_the_body_is_never_sent()
    {
        var state = Started(Signature.Chord([Signature.Of("tasks.add", 1, 1), Signature.Of("tasks.fail", "x")], Signature.Of("tasks.xsum")));
        var header = state.Evaluate().Submissions;
        var (status, sends) = Finish(Fail(state, header[1].TaskId), header[0].TaskId, 2).Evaluate();
        var failed = Assert.IsType<NodeStatus.Failed>(status);
        Assert.Equal("ChordError", failed.Error.Type);
        Assert.Contains(header[1].TaskId, failed.Error.Message);
        Assert.DoesNotContain(sends, s => s.Task == "tasks.xsum");
    }

    [Fact]
    public void A_member_result_counts_once_however_often_it_arrives()
    {
        var state = Started(Signature.Group(Signature.Of("tasks.add", 1, 1)));
        var id = state.Evaluate().Submissions[0].TaskId;
        state = Finish(Finish(state, id, 2), id, 2);
        Assert.Equal(1, state.FinishedCount);
    }

    [Fact]
    public void A_state_rebuilt_from_its_tree_and_progress_snapshots_keeps_each_members_outcome()
    {
        var state = Started(Signature.Group(Signature.Of("tasks.add", 1, 1), Signature.Of("tasks.fail"), Signature.Of("tasks.add", 2, 2)));
        var ids = state.Evaluate().Submissions.Select(s => s.TaskId).ToArray();
        state = Fail(Finish(state, ids[0], 2), ids[1]);

        var progress = state.ToSnapshot(treeSequenceNr: 1);
        Assert.Equal([(byte)(TaskState.Success + 1), (byte)(TaskState.Failure + 1), (byte)0], progress.States);
        var rebuilt = CanvasState.FromSnapshot(state.ToTreeSnapshot(), progress);

        Assert.Equal(2, rebuilt.FinishedCount);
        Assert.Equal(["SUCCESS", "FAILURE", "PENDING"], rebuilt.ToResult().Members.Select(m => m.State.ToCelery()));
        var failed = Assert.IsType<NodeStatus.Failed>(rebuilt.Evaluate().Status);
        Assert.Equal(ids[1], failed.TaskId);
        Assert.Equal("ValueError", failed.Error.Type);

        var pair = Started(Signature.Group(Signature.Of("tasks.echo"), Signature.Of("tasks.add", 1, 2)));
        var pairIds = pair.Evaluate().Submissions.Select(s => s.TaskId).ToArray();
        pair = Finish(pair, pairIds[0], new object[] { 1, "two" });
        var resumed = Finish(CanvasState.FromSnapshot(pair.ToTreeSnapshot(), pair.ToSnapshot(treeSequenceNr: 1)), pairIds[1], 3);
        var done = Assert.IsType<NodeStatus.Done>(resumed.Evaluate().Status);
        Assert.Equal("""[[1,"two"],3]""", done.Result.GetRawText());
    }

    [Fact]
    public void Celery_signature_json_reads_and_writes_the_same_tree()
    {
        var json = JsonDocument.Parse("""
            {"task": "celery.chord", "subtask_type": "chord", "args": [], "options": {}, "immutable": false,
             "kwargs": {"header": {"task": "celery.group", "subtask_type": "group", "kwargs": {"tasks": [
                 {"task": "tasks.add", "args": [1, 1], "kwargs": {}, "options": {"task_id": "a"}, "subtask_type": null, "immutable": false},
                 {"task": "tasks.add", "args": [2, 2], "kwargs": {}, "options": {"link": {"task": "tasks.echo"}}, "subtask_type": null, "immutable": true}]}},
               "body": {"task": "tasks.xsum", "args": [], "kwargs": {}, "options": {"queue": "sums"}, "subtask_type": null, "immutable": false}}}
            """).RootElement;
        var chord = CelerySignatures.Parse(json);
        Assert.Equal(SignatureKind.Chord, chord.Kind);
        Assert.Equal(["a", null], chord.Members.Select(m => m.Id));
        Assert.True(chord.Members[1].Immutable);
        Assert.Equal("tasks.echo", Assert.Single(chord.Members[1].Link).Task);
        Assert.Equal("sums", chord.Body!.Queue);

        var again = CelerySignatures.Parse(JsonDocument.Parse(CelerySignatures.ToJson(chord).ToJsonString()).RootElement);
        Assert.Equal(CelerySignatures.ToJson(chord).ToJsonString(), CelerySignatures.ToJson(again).ToJsonString());
    }

    [Fact]
    public void A_window_holds_back_members_beyond_its_room_but_never_a_callback()
    {
        var header = Enumerable.Range(0, 5).Select(i => Signature.Of("tasks.add", i, i).WithLink(Signature.Of("tasks.echo")));
        var state = Started(Signature.Group(header));
        var sent = new HashSet<string>();
        var (_, first) = state.Evaluate(sent.Contains, room: 2);
        Assert.Equal(["[0,0]", "[1,1]"], first.Select(s => s.Args.GetRawText()));
        sent.UnionWith(first.Select(s => s.TaskId));

        state = Finish(state, first[0].TaskId, 0);
        var (_, next) = state.Evaluate(sent.Contains, room: 1);
        Assert.Equal(["[0]", "[2,2]"], next.Select(s => s.Args.GetRawText()));
        Assert.Equal([false, true], next.Select(s => s.AwaitResult));
    }

    [Fact]
    public void A_tree_in_which_two_nodes_share_an_id_is_invalid_and_one_with_distinct_ids_is_not()
    {
        var twice = Signature.Chain(Signature.Of("tasks.add", 2, 2) with { Id = "x" }, Signature.Of("tasks.add", 4) with { Id = "x" }) with { Id = "c1" };
        Assert.Contains("'x'", CanvasState.Invalidity(twice));
        var callbackToo = (Signature.Of("tasks.add", 2, 2) with { Id = "y" }).WithLink(Signature.Of("tasks.log") with { Id = "y" });
        Assert.NotNull(CanvasState.Invalidity(Signature.Chain(callbackToo) with { Id = "c1" }));
        Assert.Null(CanvasState.Invalidity((Signature.Chain(Signature.Of("tasks.add", 2, 2), Signature.Of("tasks.add", 4)) with { Id = "c1" })
            .WithIds(() => Guid.NewGuid().ToString())));
    }
}
