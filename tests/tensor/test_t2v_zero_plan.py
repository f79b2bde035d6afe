from vidlift.nodes.core.text2video_zero import chunk_plan, indices_problem, model_calls, phase_indices


def test_reference_defaults_give_T_941_and_T0_881():
    assert phase_indices(50, 44, 47) == (2, 5)   # timesteps[2] = 941, timesteps[5] = 881


def test_chunks_follow_the_reference_loop():
    # diffusers docs: chunk_ids = arange(0, L, chunk_size − 1); frame_ids = [0] + range(start, end)
    assert chunk_plan(8, 8) == [list(range(8))]
    assert chunk_plan(20, 8) == [[0, 0, 1, 2, 3, 4, 5, 6], [0, 7, 8, 9, 10, 11, 12, 13], [0, 14, 15, 16, 17, 18, 19]]
    assert chunk_plan(20, 0) == [list(range(20))]
    assert sum(len(c) - 1 for c in chunk_plan(20, 8)) == 20


def test_model_call_count():
    assert model_calls(50, 44, 47, 8, 8) == 5 + 48          # 53 evaluations of frame 1 (diffusers' TextToVideoZeroPipeline)
    assert model_calls(50, 44, 47, 20, 8) == 5 + 3 * 48


def test_index_problems():
    assert indices_problem(50, 44, 47) is None
    assert indices_problem(50, 47, 47)[0] == "t0" and "t0 < t1" in indices_problem(50, 47, 47)[1]
    assert indices_problem(50, 10, 50) == ("t1", "t1=50 is outside the 50-step schedule; it must be at most "
                                                 "steps−1 = 49.")
    assert indices_problem(1, 0, 1)[0] == "steps" and indices_problem(1001, 44, 47)[0] == "steps"
